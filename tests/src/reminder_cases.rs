//! Review reminder cases, run against every store (`tests/reminders`).

use std::collections::HashSet;
use std::sync::Mutex;

use delegates::domain::{AccountId, Email};
use delegates::mail::{EmailMessage, MailError, Mailer};
use delegates::reminder::{PeriodKind, ReminderSettings, RunReport, run_reminders};
use delegates::store::{DelegateStore, Lease, LeaseOutcome, ReviewStore};
use time::{Duration, OffsetDateTime};

use crate::contract::{account, invitation, now};

/// The portal of the reminder cases.
pub const PORTAL: &str = "https://portal.test";

/// A mailer that keeps what it sends and fails for chosen recipients (wrapping a real one).
pub struct TestMailer<M> {
    inner: M,
    /// Every message that went through.
    pub sent: Mutex<Vec<EmailMessage>>,
    failing: Mutex<HashSet<String>>,
}

impl<M: Mailer> TestMailer<M> {
    /// Wraps `inner`.
    pub fn new(inner: M) -> Self {
        Self {
            inner,
            sent: Mutex::new(Vec::new()),
            failing: Mutex::new(HashSet::new()),
        }
    }

    /// Makes messages to `address` fail as a throttled SES would.
    pub fn fail_for(&self, address: &str) {
        self.failing.lock().unwrap().insert(address.to_lowercase());
    }

    /// Lets messages to every address through again.
    pub fn heal(&self) {
        self.failing.lock().unwrap().clear();
    }

    /// The messages sent so far.
    pub fn messages(&self) -> Vec<EmailMessage> {
        self.sent.lock().unwrap().clone()
    }
}

impl<M: Mailer> Mailer for TestMailer<M> {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        let failing = message
            .to
            .iter()
            .any(|to| self.failing.lock().unwrap().contains(&to.identity()));
        if failing {
            return Err(MailError::Unavailable("throttled (injected)".into()));
        }
        self.inner.send(message).await?;
        self.sent.lock().unwrap().push(message.clone());
        Ok(())
    }
}

/// A mailer that delivers nowhere.
pub struct NoMail;

impl Mailer for NoMail {
    async fn send(&self, _: &EmailMessage) -> Result<(), MailError> {
        Ok(())
    }
}

/// Settings for the cases: monthly periods, a few accounts at once, a generous budget.
pub fn settings() -> ReminderSettings {
    ReminderSettings {
        period: PeriodKind::Monthly,
        concurrency: 4,
        time_budget: std::time::Duration::from_secs(120),
        lease: Duration::minutes(15),
        page_size: 2,
        send_rate: Some(1000),
    }
}

async fn add<S: DelegateStore>(
    store: &S,
    account_id: &AccountId,
    email: &str,
    invited_by: &str,
    at: OffsetDateTime,
) -> delegates::domain::InvitationToken {
    let (mut new, token) = invitation(account_id, email, at);
    new.delegate.invited_by.email = Email::parse(invited_by).unwrap();
    store.add(&new).await.unwrap();
    token
}

async fn run<S: ReviewStore, M: Mailer>(
    store: &S,
    mailer: &M,
    period: &str,
    at: OffsetDateTime,
) -> RunReport {
    run_reminders(store, mailer, PORTAL, &settings(), period, at).await
}

/// Several accounts with mixed statuses: one email per account with delegates, to its admins
/// (deduplicated case-insensitively), listing every delegate; none for an account without.
pub async fn one_email_per_account_listing_every_delegate<S: ReviewStore, M: Mailer>(
    store: &S,
    mailer: &TestMailer<M>,
) {
    let acme = account("acme");
    let globex = account("globex");
    let initech = account("initech");
    let start = now();
    let active = add(
        store,
        &acme,
        "active@partner.test",
        "Admin@acme.test",
        start,
    )
    .await;
    store
        .accept(&active, start + Duration::hours(1))
        .await
        .unwrap();
    add(
        store,
        &acme,
        "expired@partner.test",
        "admin@ACME.test",
        start,
    )
    .await;
    let later = start + Duration::days(6);
    add(
        store,
        &acme,
        "pending@partner.test",
        "boss@acme.test",
        later,
    )
    .await;
    add(store, &globex, "g@partner.test", "admin@globex.test", start).await;
    let gone = add(
        store,
        &initech,
        "gone@partner.test",
        "admin@initech.test",
        start,
    )
    .await;
    store.remove(&initech, gone.delegate_id()).await.unwrap();

    let at = start + Duration::days(8);
    let report = run(store, mailer, "2026-12", at).await;
    assert_eq!(report.reminders_sent, 2, "{report:?}");
    assert_eq!(report.without_delegates, 1);
    assert!(report.failures.is_empty() && !report.unfinished);
    assert!(report.retry_reason().is_none());

    let messages = mailer.messages();
    let to_acme = messages
        .iter()
        .find(|m| m.text.contains("(acme)"))
        .expect("acme's reminder");
    let recipients: Vec<&str> = to_acme.to.iter().map(Email::as_str).collect();
    assert_eq!(recipients.len(), 2, "{recipients:?}");
    assert!(
        recipients
            .iter()
            .any(|r| r.eq_ignore_ascii_case("admin@acme.test"))
    );
    assert!(recipients.contains(&"boss@acme.test"));
    for line in [
        "active@partner.test>: active",
        "expired@partner.test>: expired invitation",
        "pending@partner.test>: pending, invited by boss@acme.test",
    ] {
        assert!(
            to_acme.text.contains(line),
            "missing {line:?} in\n{}",
            to_acme.text
        );
    }
    assert!(
        to_acme
            .text
            .contains("1 invitation expired without being accepted")
    );
    assert!(to_acme.text.contains(&format!("{PORTAL}/delegation")));
    assert!(to_acme.html.contains(&format!("{PORTAL}/delegation")));
    assert!(to_acme.html.contains("expired invitation"));
    let to_globex = messages
        .iter()
        .find(|m| m.text.contains("(globex)"))
        .unwrap();
    assert_eq!(
        to_globex.to,
        vec![Email::parse("admin@globex.test").unwrap()]
    );
    assert!(!messages.iter().any(|m| m.text.contains("(initech)")));
}

/// A second run of the same period sends nothing; the next period sends again.
pub async fn at_most_one_reminder_per_account_per_period<S: ReviewStore, M: Mailer>(
    store: &S,
    mailer: &TestMailer<M>,
) {
    let acme = account("acme");
    add(store, &acme, "a@partner.test", "admin@acme.test", now()).await;
    add(
        store,
        &account("globex"),
        "g@partner.test",
        "admin@globex.test",
        now(),
    )
    .await;
    let first = run(store, mailer, "2026-12", now()).await;
    assert_eq!(first.reminders_sent, 2);
    let again = run(store, mailer, "2026-12", now() + Duration::hours(1)).await;
    assert_eq!(again.reminders_sent, 0, "{again:?}");
    assert_eq!(again.already_reminded, 2);
    assert_eq!(mailer.messages().len(), 2);
    let next = run(store, mailer, "2027-01", now() + Duration::days(31)).await;
    assert_eq!(next.reminders_sent, 2);
    assert_eq!(mailer.messages().len(), 4);
}

/// One account's failure does not stop the others; the run reports it, and the retry sends
/// only what is still owed.
pub async fn a_failing_account_does_not_block_the_others<S: ReviewStore, M: Mailer>(
    store: &S,
    mailer: &TestMailer<M>,
) {
    for name in ["acme", "globex", "initech", "umbrella", "hooli"] {
        add(
            store,
            &account(name),
            &format!("d@{name}-partner.test"),
            &format!("admin@{name}.test"),
            now(),
        )
        .await;
    }
    mailer.fail_for("admin@initech.test");
    let report = run(store, mailer, "2026-12", now()).await;
    assert_eq!(report.reminders_sent, 4, "{report:?}");
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].account_id, "initech");
    assert!(
        report
            .retry_reason()
            .unwrap()
            .contains("1 account(s) failed")
    );

    mailer.heal();
    let retry = run(store, mailer, "2026-12", now() + Duration::minutes(5)).await;
    assert_eq!(retry.reminders_sent, 1, "{retry:?}");
    assert_eq!(retry.already_reminded, 4);
    assert!(retry.retry_reason().is_none());
    let to_initech = mailer
        .messages()
        .iter()
        .filter(|m| m.text.contains("(initech)"))
        .count();
    assert_eq!(to_initech, 1);
}

/// An account leased by a concurrent (or crashed) run is left to it, and this run reports itself
/// unfinished so that it is retried; once the lease lapses the account is reminded.
pub async fn a_leased_account_is_left_to_the_run_holding_it<S: ReviewStore, M: Mailer>(
    store: &S,
    mailer: &TestMailer<M>,
) {
    let acme = account("acme");
    add(store, &acme, "a@partner.test", "admin@acme.test", now()).await;
    let other_run = Lease {
        run_id: "crashed-run".into(),
        now: now(),
        until: now() + Duration::minutes(30),
    };
    assert_eq!(
        store
            .begin_reminder(&acme, "2026-12", &other_run)
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );
    let report = run(store, mailer, "2026-12", now() + Duration::minutes(1)).await;
    assert_eq!(report.reminders_sent, 0);
    assert_eq!(report.leased_elsewhere, 1);
    assert!(report.unfinished, "left for a retry");
    assert!(report.retry_reason().is_some());
    // Releasing needs the holder's run id: another run's release leaves the lease alone.
    store.abandon_reminder(&acme, "someone-else").await.unwrap();
    let report = run(store, mailer, "2026-12", now() + Duration::minutes(2)).await;
    assert_eq!(report.leased_elsewhere, 1, "{report:?}");
    // The crashed run's lease lapses, and the account is reminded after all.
    let report = run(store, mailer, "2026-12", now() + Duration::minutes(31)).await;
    assert_eq!(report.reminders_sent, 1, "{report:?}");
    assert!(!report.unfinished);
    assert_eq!(
        store
            .begin_reminder(&acme, "2026-12", &other_run)
            .await
            .unwrap(),
        LeaseOutcome::AlreadyReminded
    );
}
