//! The review reminder at scale: 100,000 accounts with 1,000,000 delegates in the in-memory store
//! (which has the DynamoDB store's semantics), one full run, a second run of the same period,
//! and the DynamoDB requests and read/write units the same run makes against the table.
//!
//! `cargo run -p delegates-bench --release --bin reminder-bench [-- ACCOUNTS DELEGATES]`

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use delegates::domain::{
    AccountId, Delegate, DelegateId, DelegateName, Email, InvitationToken, Inviter,
    NoticeAcknowledgement, StoredStatus,
};
use delegates::mail::{EmailMessage, MailError, Mailer};
use delegates::reminder::{PeriodKind, ReminderSettings, run_reminders};
use delegates::store::{
    AccountPage, DelegatePage, DelegateStore, Lease, LeaseOutcome, MemoryStore, NewInvitation,
    ReviewStore, StoreError,
};
use time::{Duration, OffsetDateTime};

/// Counts the requests the DynamoDB store would make, and the bytes its queries would read.
struct Counting {
    inner: MemoryStore,
    index_queries: AtomicU64,
    index_bytes: AtomicU64,
    delegate_queries: AtomicU64,
    delegate_read_units: AtomicU64,
    conditional_writes: AtomicU64,
    writes: AtomicU64,
}

/// An estimate of a delegate item's DynamoDB size: attribute names plus values.
fn item_size(delegate: &Delegate) -> u64 {
    let fixed_names = 220; // the 17 attribute names of a delegate item
    let values = 2 * 40 // PK, SK
        + delegate.name.as_str().len()
        + 2 * delegate.email.as_str().len()
        + delegate.invited_by.sub.len()
        + delegate.invited_by.email.as_str().len()
        + delegate.account_id.as_str().len()
        + 36 + 8 + 7 + 5 * 10 + delegate.notice.version.len() + delegate.notice.acknowledged_by.len()
        + if delegate.status == StoredStatus::Pending { 43 + 10 } else { 0 };
    (fixed_names + values) as u64
}

impl DelegateStore for Counting {
    async fn list(
        &self,
        account_id: &AccountId,
        limit: u16,
        after: Option<DelegateId>,
    ) -> Result<DelegatePage, StoreError> {
        let page = self.inner.list(account_id, limit, after).await?;
        let bytes: u64 = page.items.iter().map(item_size).sum();
        self.delegate_queries.fetch_add(1, Ordering::Relaxed);
        // Strongly consistent Query: one read unit per 4 KB, rounded up per request.
        self.delegate_read_units
            .fetch_add(bytes.div_ceil(4096).max(1), Ordering::Relaxed);
        Ok(page)
    }
    async fn add(&self, invitation: &NewInvitation) -> Result<(), StoreError> {
        self.inner.add(invitation).await
    }
    async fn accept(
        &self,
        token: &InvitationToken,
        now: OffsetDateTime,
    ) -> Result<Delegate, StoreError> {
        self.inner.accept(token, now).await
    }
    async fn remove(&self, account_id: &AccountId, id: DelegateId) -> Result<Delegate, StoreError> {
        self.inner.remove(account_id, id).await
    }
}

impl ReviewStore for Counting {
    async fn accounts(
        &self,
        shard: u8,
        limit: u16,
        after: Option<&AccountId>,
    ) -> Result<AccountPage, StoreError> {
        let page = self.inner.accounts(shard, limit, after).await?;
        self.index_queries.fetch_add(1, Ordering::Relaxed);
        // Index entries: reminder_shard, PK, SK and last_reminder_period, ~60 bytes each.
        let bytes: u64 = page
            .accounts
            .iter()
            .map(|a| 50 + a.account_id.as_str().len() as u64)
            .sum();
        self.index_bytes.fetch_add(bytes, Ordering::Relaxed);
        Ok(page)
    }
    async fn begin_reminder(
        &self,
        account_id: &AccountId,
        period: &str,
        lease: &Lease,
    ) -> Result<LeaseOutcome, StoreError> {
        self.conditional_writes.fetch_add(1, Ordering::Relaxed);
        self.inner.begin_reminder(account_id, period, lease).await
    }
    async fn finish_reminder(
        &self,
        account_id: &AccountId,
        period: &str,
    ) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.finish_reminder(account_id, period).await
    }
    async fn abandon_reminder(
        &self,
        account_id: &AccountId,
        run_id: &str,
    ) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.abandon_reminder(account_id, run_id).await
    }
}

/// Renders and drops every message (the cost of building the emails is in the figures).
struct Discard(AtomicU64);

impl Mailer for Discard {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        self.0.fetch_add(
            (message.text.len() + message.html.len()) as u64,
            Ordering::Relaxed,
        );
        Ok(())
    }
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let accounts = args.first().copied().unwrap_or(100_000);
    let delegates = args.get(1).copied().unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench(accounts, delegates));
}

async fn bench(accounts: u64, delegates: u64) {
    println!(
        "review reminder benchmark: {accounts} accounts, {delegates} delegates, in-memory store"
    );
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let store = Counting {
        inner: MemoryStore::new(),
        index_queries: AtomicU64::new(0),
        index_bytes: AtomicU64::new(0),
        delegate_queries: AtomicU64::new(0),
        delegate_read_units: AtomicU64::new(0),
        conditional_writes: AtomicU64::new(0),
        writes: AtomicU64::new(0),
    };
    let started = Instant::now();
    let account_ids: Vec<AccountId> = (0..accounts)
        .map(|n| AccountId::parse(&format!("account-{n:06}")).unwrap())
        .collect();
    for n in 0..delegates {
        let account_id = &account_ids[(n % accounts) as usize];
        let id = DelegateId::generate();
        let token = InvitationToken::generate(account_id, id);
        // A mix: most active, some pending, some expired.
        let invited_at = now - Duration::days((n % 20) as i64);
        let delegate = Delegate {
            id,
            account_id: account_id.clone(),
            name: DelegateName::parse(&format!("Delegate {n}")).unwrap(),
            email: Email::parse(&format!("delegate{n}@partner{}.example", n % 97)).unwrap(),
            status: StoredStatus::Pending,
            invited_by: Inviter {
                sub: format!("admin-{}", n % 3),
                email: Email::parse(&format!("admin{}@{}.example", n % 3, account_id)).unwrap(),
            },
            invited_at,
            invitation_expires_at: invited_at + Duration::days(7),
            accepted_at: None,
            notice: NoticeAcknowledgement {
                version: "2026-01".into(),
                acknowledged_at: invited_at,
                acknowledged_by: format!("admin-{}", n % 3),
            },
        };
        let invitation = NewInvitation {
            delegate,
            token_hash: token.hash(),
            daily_limit: u32::MAX,
        };
        store.inner.add(&invitation).await.unwrap();
        if n % 3 == 0 {
            store
                .inner
                .accept(&token, invited_at + Duration::hours(1))
                .await
                .unwrap();
        }
    }
    println!("populated in {:.1} s", started.elapsed().as_secs_f64());

    let settings = ReminderSettings {
        period: PeriodKind::Monthly,
        concurrency: 16,
        time_budget: std::time::Duration::from_secs(840),
        lease: Duration::minutes(30),
        page_size: 100,
        send_rate: None,
    };
    let period = PeriodKind::Monthly.period_of(now);
    let mailer = Discard(AtomicU64::new(0));
    let timed_run = || async {
        let started = Instant::now();
        let report = run_reminders(
            &store,
            &mailer,
            "https://portal.example.com",
            &settings,
            &period,
            now,
        )
        .await;
        (report, started.elapsed())
    };
    let (report, first) = timed_run().await;
    let index_queries = store.index_queries.load(Ordering::Relaxed);
    let index_read_units = store.index_bytes.load(Ordering::Relaxed).div_ceil(4096) as f64 / 2.0;
    let delegate_queries = store.delegate_queries.load(Ordering::Relaxed);
    let delegate_read_units = store.delegate_read_units.load(Ordering::Relaxed);
    let conditional_writes = store.conditional_writes.load(Ordering::Relaxed);
    let writes = store.writes.load(Ordering::Relaxed);

    let (again, second) = timed_run().await;

    println!();
    println!(
        "| run | accounts seen | reminders sent | already reminded | failures | unfinished | time |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, report, took) in [
        ("first", &report, first),
        ("same period again", &again, second),
    ] {
        println!(
            "| {name} | {} | {} | {} | {} | {} | {:.2} s |",
            report.accounts_seen,
            report.reminders_sent,
            report.already_reminded,
            report.failures.len(),
            report.unfinished,
            took.as_secs_f64()
        );
    }
    println!();
    println!(
        "first run: {:.0} accounts/s, {:.1} MB of email bodies rendered",
        accounts as f64 / first.as_secs_f64(),
        mailer.0.load(Ordering::Relaxed) as f64 / 1e6
    );
    println!("DynamoDB requests of the first run against the table:");
    println!(
        "  Query ReminderIndex (eventually consistent): {index_queries} requests, ~{index_read_units:.0} RRU"
    );
    println!(
        "  Query delegates (strongly consistent):       {delegate_queries} requests, ~{delegate_read_units} RRU"
    );
    println!(
        "  UpdateItem (lease, conditional):             {conditional_writes} requests, {conditional_writes} WRU"
    );
    println!("  UpdateItem (done / release):                 {writes} requests, {writes} WRU");
    let cost = (index_read_units + delegate_read_units as f64) * 0.25e-6
        + (conditional_writes + writes) as f64 * 1.25e-6;
    println!("  on-demand cost at $0.25 per million RRU and $1.25 per million WRU: ${cost:.2}");
    println!(
        "SES: {} SendEmail calls (at a sending quota of 14/s that alone is {:.0} min; raise the quota or REMINDER_CONCURRENCY accordingly)",
        report.reminders_sent,
        report.reminders_sent as f64 / 14.0 / 60.0
    );
    assert_eq!(
        report.reminders_sent, accounts,
        "every account with delegates is reminded"
    );
    assert_eq!(
        again.reminders_sent, 0,
        "a second run of the period sends nothing"
    );
}
