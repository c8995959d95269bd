//! The store contract: cases every [`DelegateStore`] must pass identically. `tests/store` runs
//! each case against the in-memory store, the file store and the DynamoDB store on moto.

use delegates::domain::{
    AccountId, Delegate, DelegateId, DelegateName, DelegateStatus, Email, InvitationToken, Inviter,
    NoticeAcknowledgement, StoredStatus,
};
use delegates::store::{DelegateStore, NewInvitation, StoreError};
use time::{Duration, OffsetDateTime};

/// A fixed "now" for contract cases (whole seconds, like the stores keep).
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_796_288_400).unwrap()
}

/// An account id.
pub fn account(id: &str) -> AccountId {
    AccountId::parse(id).unwrap()
}

/// A pending invitation of `email` to `account` made at `at`, valid for 7 days, with its token.
pub fn invitation(
    account_id: &AccountId,
    email: &str,
    at: OffsetDateTime,
) -> (NewInvitation, InvitationToken) {
    invitation_with_limit(account_id, email, at, 50)
}

/// As [`invitation`], with a daily limit.
pub fn invitation_with_limit(
    account_id: &AccountId,
    email: &str,
    at: OffsetDateTime,
    daily_limit: u32,
) -> (NewInvitation, InvitationToken) {
    let id = DelegateId::generate();
    let token = InvitationToken::generate(account_id, id);
    let delegate = Delegate {
        id,
        account_id: account_id.clone(),
        name: DelegateName::parse(&format!("Delegate {email}")).unwrap(),
        email: Email::parse(email).unwrap(),
        status: StoredStatus::Pending,
        invited_by: Inviter {
            sub: "admin-1".into(),
            email: Email::parse("admin@example.com").unwrap(),
        },
        invited_at: at,
        invitation_expires_at: at + Duration::days(7),
        accepted_at: None,
        notice: NoticeAcknowledgement {
            version: "2026-01".into(),
            acknowledged_at: at,
            acknowledged_by: "admin-1".into(),
        },
    };
    let invitation = NewInvitation {
        delegate,
        token_hash: token.hash(),
        daily_limit,
    };
    (invitation, token)
}

async fn all_ids<S: DelegateStore>(store: &S, account_id: &AccountId) -> Vec<DelegateId> {
    store
        .list(account_id, 100, None)
        .await
        .unwrap()
        .items
        .iter()
        .map(|d| d.id)
        .collect()
}

/// Stored fields read back exactly; the list shows the pending delegate.
pub async fn add_then_list_reads_back_every_field<S: DelegateStore>(store: &S) {
    let acme = account("acme");
    let (new, _) = invitation(&acme, "Bob@Example.com", now());
    store.add(&new).await.unwrap();
    let page = store.list(&acme, 10, None).await.unwrap();
    assert_eq!(page.items, vec![new.delegate.clone()]);
    assert_eq!(page.items[0].status_at(now()), DelegateStatus::Pending);
}

/// Uniqueness is per account and case-insensitive.
pub async fn email_uniqueness_is_case_insensitive_and_per_account<S: DelegateStore>(store: &S) {
    let acme = account("acme");
    store
        .add(&invitation(&acme, "Bob@Example.com", now()).0)
        .await
        .unwrap();
    let again = store
        .add(&invitation(&acme, "bob@EXAMPLE.COM", now()).0)
        .await;
    assert!(matches!(again, Err(StoreError::EmailTaken)), "{again:?}");
    store
        .add(&invitation(&account("globex"), "bob@example.com", now()).0)
        .await
        .unwrap();
    assert_eq!(all_ids(store, &acme).await.len(), 1);
}

/// Pages hold `limit` items newest first; the last full page may point at an empty one.
pub async fn pagination_walks_every_delegate_newest_first<S: DelegateStore>(store: &S) {
    let acme = account("acme");
    let mut added = Vec::new();
    for n in 0..7 {
        let (new, _) = invitation(&acme, &format!("d{n}@example.com"), now());
        store.add(&new).await.unwrap();
        added.push(new.delegate.id);
    }
    store
        .add(&invitation(&account("other"), "x@example.com", now()).0)
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = store.list(&acme, 3, after).await.unwrap();
        assert!(page.items.len() <= 3);
        pages += 1;
        seen.extend(page.items.iter().map(|d| d.id));
        match page.last_key {
            Some(last) => after = Some(last),
            None => break,
        }
    }
    added.reverse();
    assert_eq!(seen, added);
    assert_eq!(pages, 3);
}

/// A start key from another account's list never reaches into that account.
pub async fn another_accounts_key_only_pages_the_callers_partition<S: DelegateStore>(store: &S) {
    let acme = account("acme");
    let globex = account("globex");
    let (a, _) = invitation(&acme, "a@example.com", now());
    store.add(&a).await.unwrap();
    let (g, _) = invitation(&globex, "g@example.com", now());
    store.add(&g).await.unwrap();
    let later = DelegateId::generate();
    let page = store.list(&globex, 10, Some(later)).await.unwrap();
    assert_eq!(
        page.items.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![g.delegate.id]
    );
    let page = store.list(&globex, 10, Some(a.delegate.id)).await.unwrap();
    assert!(page.items.iter().all(|d| d.account_id == globex));
}

/// Accept works once, with the right token, before expiry.
pub async fn accept_once_then_gone<S: DelegateStore>(store: &S) {
    let acme = account("acme");
    let (new, token) = invitation(&acme, "bob@example.com", now());
    store.add(&new).await.unwrap();

    let other = InvitationToken::generate(&acme, new.delegate.id);
    assert!(matches!(
        store.accept(&other, now()).await,
        Err(StoreError::InvitationGone)
    ));

    let accepted_at = now() + Duration::hours(1);
    let active = store.accept(&token, accepted_at).await.unwrap();
    assert_eq!(active.status, StoredStatus::Active);
    assert_eq!(active.accepted_at, Some(accepted_at));
    assert_eq!(active.name, new.delegate.name);
    let again = store.accept(&token, accepted_at).await;
    assert!(
        matches!(again, Err(StoreError::InvitationGone)),
        "{again:?}"
    );
    let listed = store.list(&acme, 10, None).await.unwrap().items;
    assert_eq!(listed[0].status, StoredStatus::Active);
}

/// An expired, a revoked (removed) and an unknown invitation are all gone.
pub async fn expired_revoked_and_unknown_invitations_are_gone<S: DelegateStore>(store: &S) {
    let acme = account("acme");
    let (expiring, token) = invitation(&acme, "late@example.com", now());
    store.add(&expiring).await.unwrap();
    let at_expiry = expiring.delegate.invitation_expires_at;
    assert!(matches!(
        store.accept(&token, at_expiry).await,
        Err(StoreError::InvitationGone)
    ));

    let (revoked, revoked_token) = invitation(&acme, "revoked@example.com", now());
    store.add(&revoked).await.unwrap();
    store.remove(&acme, revoked.delegate.id).await.unwrap();
    assert!(matches!(
        store.accept(&revoked_token, now()).await,
        Err(StoreError::InvitationGone)
    ));

    let unknown = InvitationToken::generate(&acme, DelegateId::generate());
    assert!(matches!(
        store.accept(&unknown, now()).await,
        Err(StoreError::InvitationGone)
    ));

    // The expiring one still works a second before expiry.
    let before = at_expiry - Duration::seconds(1);
    assert_eq!(
        store.accept(&token, before).await.unwrap().status,
        StoredStatus::Active
    );
}

/// Remove takes pending and active delegates with their claim; a missing one is not found.
pub async fn remove_pending_active_and_missing<S: DelegateStore>(store: &S) {
    let acme = account("acme");
    let (pending, _) = invitation(&acme, "pending@example.com", now());
    let (active, token) = invitation(&acme, "active@example.com", now());
    store.add(&pending).await.unwrap();
    store.add(&active).await.unwrap();
    store.accept(&token, now()).await.unwrap();

    assert_eq!(
        store.remove(&acme, pending.delegate.id).await.unwrap().id,
        pending.delegate.id
    );
    assert_eq!(
        store.remove(&acme, active.delegate.id).await.unwrap().id,
        active.delegate.id
    );
    assert!(all_ids(store, &acme).await.is_empty());
    assert!(matches!(
        store.remove(&acme, active.delegate.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .remove(&account("globex"), DelegateId::generate())
            .await,
        Err(StoreError::NotFound)
    ));

    // The claims went with them: both addresses can be invited again.
    store
        .add(&invitation(&acme, "PENDING@example.com", now()).0)
        .await
        .unwrap();
    store
        .add(&invitation(&acme, "active@example.com", now()).0)
        .await
        .unwrap();
}

/// Another account cannot remove a delegate.
pub async fn remove_is_scoped_to_the_account<S: DelegateStore>(store: &S) {
    let acme = account("acme");
    let (new, _) = invitation(&acme, "bob@example.com", now());
    store.add(&new).await.unwrap();
    let other = store.remove(&account("globex"), new.delegate.id).await;
    assert!(matches!(other, Err(StoreError::NotFound)));
    assert_eq!(all_ids(store, &acme).await, vec![new.delegate.id]);
}

/// Inviting an address whose invitation expired replaces the expired one; a live one blocks.
pub async fn an_expired_invitation_is_replaced_by_a_new_one<S: DelegateStore>(store: &S) {
    let acme = account("acme");
    let (old, old_token) = invitation(&acme, "again@example.com", now());
    store.add(&old).await.unwrap();
    let early = store
        .add(&invitation(&acme, "again@example.com", now() + Duration::days(6)).0)
        .await;
    assert!(matches!(early, Err(StoreError::EmailTaken)));

    let later = old.delegate.invitation_expires_at;
    let (new, new_token) = invitation(&acme, "Again@example.com", later);
    store.add(&new).await.unwrap();
    assert_eq!(all_ids(store, &acme).await, vec![new.delegate.id]);
    assert!(matches!(
        store.accept(&old_token, later).await,
        Err(StoreError::InvitationGone)
    ));
    store.accept(&new_token, later).await.unwrap();

    // An active delegate is never replaced, however old.
    let much_later = later + Duration::days(365);
    let blocked = store
        .add(&invitation(&acme, "again@example.com", much_later).0)
        .await;
    assert!(matches!(blocked, Err(StoreError::EmailTaken)));
}

/// The daily allowance counts per account and UTC day; a refused add counts nothing.
pub async fn the_daily_invitation_limit_is_per_account_and_day<S: DelegateStore>(store: &S) {
    let acme = account("acme");
    let day = now();
    for n in 0..3 {
        let (new, _) = invitation_with_limit(&acme, &format!("n{n}@example.com"), day, 3);
        store.add(&new).await.unwrap();
    }
    let (fourth, _) = invitation_with_limit(&acme, "n3@example.com", day, 3);
    match store.add(&fourth).await {
        Err(StoreError::DailyLimitReached {
            limit: 3,
            retry_after_seconds,
        }) => {
            assert!(retry_after_seconds > 0 && retry_after_seconds <= 86_400);
        }
        other => panic!("expected the daily limit, got {other:?}"),
    }
    let (other_account, _) = invitation_with_limit(&account("globex"), "n3@example.com", day, 3);
    store.add(&other_account).await.unwrap();
    let next_day = day + Duration::days(1);
    let (tomorrow, _) = invitation_with_limit(&acme, "n3@example.com", next_day, 3);
    store.add(&tomorrow).await.unwrap();
    assert_eq!(all_ids(store, &acme).await.len(), 4);
}
