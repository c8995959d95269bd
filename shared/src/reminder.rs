//! The review reminder: each account that has delegates gets one email per period, to the admins
//! who invited them, listing every delegate so they can remove those who no longer need access.
//!
//! Scale: accounts come from the sparse reminder index, page by page per shard, never from a
//! table scan. Each account is leased with a conditional write before its email is sent and
//! marked done after, so a retried or duplicated run of the same period never emails an account
//! twice, and a retry after a failure sends only what is still owed. A run stops starting new
//! accounts when its time budget is spent and reports itself unfinished, so Lambda's retry picks
//! up where it stopped (accounts already reminded are skipped straight from the index).

use std::collections::HashSet;
use std::time::Instant;

use askama::Template;
use futures_util::StreamExt;
use futures_util::stream;
use serde::Serialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

use crate::config::{ConfigError, Env};
use crate::domain::{AccountId, Delegate, DelegateStatus, Email};
use crate::mail::{EmailMessage, MailError, Mailer};
use crate::store::{
    Lease, LeaseOutcome, REMINDER_SHARDS, ReminderAccount, ReviewStore, StoreError,
};

/// Environment variables of the reminder.
pub mod vars {
    /// `monthly` (default), `weekly` or `daily`: at most one reminder per account per period.
    pub const REMINDER_PERIOD: &str = "REMINDER_PERIOD";
    /// How many accounts are reminded at once (default 16; keep it within the SES send rate).
    pub const REMINDER_CONCURRENCY: &str = "REMINDER_CONCURRENCY";
    /// Seconds a run may start new accounts for (default 840, inside Lambda's 15 minutes).
    pub const REMINDER_TIME_BUDGET_SECONDS: &str = "REMINDER_TIME_BUDGET_SECONDS";
    /// Reminder emails per second at most (default 10; 0 for no limit): keep it within the SES
    /// account's sending quota.
    pub const REMINDER_SEND_RATE: &str = "REMINDER_SEND_RATE";
}

/// How often admins are reminded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodKind {
    /// `2026-12`
    Monthly,
    /// `2026-W49` (ISO week)
    Weekly,
    /// `2026-12-03`
    Daily,
}

impl PeriodKind {
    /// The period `at` falls in.
    pub fn period_of(self, at: OffsetDateTime) -> String {
        let at = at.to_offset(time::UtcOffset::UTC);
        match self {
            Self::Monthly => format!("{:04}-{:02}", at.year(), u8::from(at.month())),
            Self::Weekly => {
                let (year, week, _) = at.to_iso_week_date();
                format!("{year:04}-W{week:02}")
            }
            Self::Daily => at
                .format(format_description!("[year]-[month]-[day]"))
                .unwrap_or_default(),
        }
    }

    /// Whether `period` is written the way this kind writes periods.
    pub fn is_valid(self, period: &str) -> bool {
        let b = period.as_bytes();
        let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
        match self {
            Self::Monthly => b.len() == 7 && digits(0..4) && b[4] == b'-' && digits(5..7),
            Self::Weekly => b.len() == 8 && digits(0..4) && &b[4..6] == b"-W" && digits(6..8),
            Self::Daily => {
                b.len() == 10
                    && digits(0..4)
                    && b[4] == b'-'
                    && digits(5..7)
                    && b[7] == b'-'
                    && digits(8..10)
            }
        }
    }
}

/// The reminder's settings.
#[derive(Debug, Clone)]
pub struct ReminderSettings {
    /// The period kind.
    pub period: PeriodKind,
    /// Accounts reminded at once.
    pub concurrency: usize,
    /// How long a run may start new accounts.
    pub time_budget: std::time::Duration,
    /// How long an account's lease lasts (a crashed run's lease expires after this; longer
    /// than a Lambda run, so a retry never overlaps the run that crashed).
    pub lease: Duration,
    /// Accounts read per index page.
    pub page_size: u16,
    /// Emails per second at most, if limited.
    pub send_rate: Option<u32>,
}

impl ReminderSettings {
    /// Reads the settings.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let period = match env.optional(vars::REMINDER_PERIOD).as_deref() {
            None | Some("monthly") => PeriodKind::Monthly,
            Some("weekly") => PeriodKind::Weekly,
            Some("daily") => PeriodKind::Daily,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: vars::REMINDER_PERIOD,
                    reason: format!("{other:?} is not one of monthly, weekly, daily"),
                });
            }
        };
        Ok(Self {
            period,
            concurrency: env.number(vars::REMINDER_CONCURRENCY, 16, 1..=256)? as usize,
            time_budget: std::time::Duration::from_secs(env.number(
                vars::REMINDER_TIME_BUDGET_SECONDS,
                840,
                1..=900,
            )?),
            lease: Duration::minutes(30),
            page_size: 100,
            send_rate: match env.number(vars::REMINDER_SEND_RATE, 10, 0..=10_000)? {
                0 => None,
                rate => Some(rate as u32),
            },
        })
    }
}

/// The period a run covers: an explicit `"period"` in the event (manual re-runs), else the
/// period of the event's `time` (the EventBridge envelope), else of `now` (a fixed JSON input).
pub fn period_for_event(
    event: &Value,
    kind: PeriodKind,
    now: OffsetDateTime,
) -> Result<String, String> {
    if let Some(period) = event.get("period").and_then(Value::as_str) {
        return if kind.is_valid(period) {
            Ok(period.to_owned())
        } else {
            Err(format!("event period {period:?} is not a {kind:?} period"))
        };
    }
    let at = event
        .get("time")
        .and_then(Value::as_str)
        .and_then(|time| OffsetDateTime::parse(time, &Rfc3339).ok())
        .unwrap_or(now);
    Ok(kind.period_of(at))
}

/// Runs the reminders for the period `event` names (see [`period_for_event`]).
pub async fn run_for_event<S: ReviewStore, M: Mailer>(
    store: &S,
    mailer: &M,
    portal_url: &str,
    settings: &ReminderSettings,
    event: &Value,
    now: OffsetDateTime,
) -> Result<RunReport, String> {
    let period = period_for_event(event, settings.period, now)?;
    Ok(run_reminders(store, mailer, portal_url, settings, &period, now).await)
}

/// What one run did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct RunReport {
    /// The period.
    pub period: String,
    /// Accounts read from the index.
    pub accounts_seen: u64,
    /// Reminders sent by this run.
    pub reminders_sent: u64,
    /// Accounts already reminded this period (or leased by another run).
    pub already_reminded: u64,
    /// Accounts with no delegates now (nothing sent).
    pub without_delegates: u64,
    /// Accounts another run was reminding (left to it; this run is unfinished).
    pub leased_elsewhere: u64,
    /// Accounts due that this run had no time left to start.
    pub not_started: u64,
    /// Accounts whose reminder failed, with the reason.
    pub failures: Vec<AccountFailure>,
    /// Whether accounts were left for a later run: the time budget ran out, or another run
    /// held some of them.
    pub unfinished: bool,
}

impl RunReport {
    /// An error message when the run must be retried, else `None`.
    pub fn retry_reason(&self) -> Option<String> {
        match (self.failures.len(), self.unfinished) {
            (0, false) => None,
            (failed, unfinished) => Some(format!(
                "review reminders for {}: {failed} account(s) failed{}",
                self.period,
                if unfinished {
                    ", and the run ran out of time"
                } else {
                    ""
                }
            )),
        }
    }
}

/// An account whose reminder could not be sent.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AccountFailure {
    /// The account.
    pub account_id: String,
    /// Why.
    pub reason: String,
}

enum Outcome {
    Sent,
    AlreadyReminded,
    LeasedElsewhere,
    NotStarted,
    NoDelegates,
    Failed(String),
}

/// Spaces sends at most `rate` per second across the run's concurrent accounts.
struct SendPacer {
    interval: Option<std::time::Duration>,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl SendPacer {
    fn new(rate: Option<u32>) -> Self {
        Self {
            interval: rate.map(|rate| std::time::Duration::from_secs(1) / rate.max(1)),
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    async fn wait_turn(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let turn = {
            let mut next = self.next.lock().await;
            let turn = (*next).max(tokio::time::Instant::now());
            *next = turn + interval;
            turn
        };
        tokio::time::sleep_until(turn).await;
    }
}

/// Everything one run shares between its accounts.
struct Run<'a, S, M> {
    store: &'a S,
    mailer: &'a M,
    portal_url: &'a str,
    settings: &'a ReminderSettings,
    period: &'a str,
    run_id: String,
    started_at: OffsetDateTime,
    started: Instant,
    pacer: SendPacer,
}

impl<S, M> Run<'_, S, M> {
    fn now(&self) -> OffsetDateTime {
        self.started_at + self.started.elapsed()
    }

    fn out_of_time(&self) -> bool {
        self.started.elapsed() >= self.settings.time_budget
    }
}

/// Runs the reminders of `period` for every account in the index.
pub async fn run_reminders<S: ReviewStore, M: Mailer>(
    store: &S,
    mailer: &M,
    portal_url: &str,
    settings: &ReminderSettings,
    period: &str,
    now: OffsetDateTime,
) -> RunReport {
    let run = Run {
        store,
        mailer,
        portal_url,
        settings,
        period,
        run_id: uuid::Uuid::now_v7().to_string(),
        started_at: now,
        started: Instant::now(),
        pacer: SendPacer::new(settings.send_rate),
    };
    let mut report = RunReport {
        period: period.to_owned(),
        ..RunReport::default()
    };
    'shards: for shard in 0..REMINDER_SHARDS {
        let mut after: Option<AccountId> = None;
        loop {
            if run.out_of_time() {
                report.unfinished = true;
                break 'shards;
            }
            let page = match store
                .accounts(shard, settings.page_size, after.as_ref())
                .await
            {
                Ok(page) => page,
                Err(error) => {
                    // The shard cannot be read now; the retry reads it again.
                    report.failures.push(AccountFailure {
                        account_id: format!("(reminder shard {shard})"),
                        reason: error.to_string(),
                    });
                    break;
                }
            };
            let seen = page.accounts.len();
            report.accounts_seen += seen as u64;
            let due: Vec<ReminderAccount> = page
                .accounts
                .into_iter()
                .filter(|account| account.last_reminder_period.as_deref() != Some(period))
                .collect();
            // Accounts the index already shows as reminded cost no request at all.
            report.already_reminded += (seen - due.len()) as u64;
            let run = &run;
            let outcomes: Vec<(AccountId, Outcome)> = stream::iter(due)
                .map(|account| async move {
                    let outcome = remind_account(run, &account.account_id).await;
                    (account.account_id, outcome)
                })
                .buffer_unordered(settings.concurrency)
                .collect()
                .await;
            for (account_id, outcome) in outcomes {
                match outcome {
                    Outcome::Sent => report.reminders_sent += 1,
                    Outcome::AlreadyReminded => report.already_reminded += 1,
                    Outcome::LeasedElsewhere => report.leased_elsewhere += 1,
                    Outcome::NotStarted => report.not_started += 1,
                    Outcome::NoDelegates => report.without_delegates += 1,
                    Outcome::Failed(reason) => {
                        tracing::warn!(account = %account_id, %reason, "review reminder failed");
                        report.failures.push(AccountFailure {
                            account_id: account_id.to_string(),
                            reason,
                        });
                    }
                }
            }
            match page.last_key {
                Some(last) => after = Some(last),
                None => break,
            }
        }
    }
    report.unfinished |= report.leased_elsewhere > 0 || report.not_started > 0;
    report
}

async fn remind_account<S: ReviewStore, M: Mailer>(
    run: &Run<'_, S, M>,
    account_id: &AccountId,
) -> Outcome {
    if run.out_of_time() {
        return Outcome::NotStarted;
    }
    let now = run.now();
    let lease = Lease {
        run_id: run.run_id.clone(),
        now,
        until: now + run.settings.lease,
    };
    match run
        .store
        .begin_reminder(account_id, run.period, &lease)
        .await
    {
        Ok(LeaseOutcome::Acquired) => {}
        Ok(LeaseOutcome::AlreadyReminded) => return Outcome::AlreadyReminded,
        Ok(LeaseOutcome::LeasedElsewhere) => return Outcome::LeasedElsewhere,
        Err(error) => return Outcome::Failed(error.to_string()),
    }
    let prepared = async {
        let delegates = all_delegates(run.store, account_id).await?;
        if delegates.is_empty() {
            run.store.finish_reminder(account_id, run.period).await?;
            return Ok::<_, ReminderError>(None);
        }
        let message = review_email(account_id, &delegates, run.portal_url, now);
        run.pacer.wait_turn().await;
        run.mailer.send(&message).await?;
        Ok(Some(()))
    }
    .await;
    match prepared {
        Ok(None) => Outcome::NoDelegates,
        Ok(Some(())) => record_sent(run, account_id).await,
        Err(error) => {
            // Nothing was sent: release the lease so the retry can send it.
            if let Err(release) = run.store.abandon_reminder(account_id, &run.run_id).await {
                tracing::warn!(account = %account_id, error = %release, "could not release the reminder lease; it lapses by itself");
            }
            Outcome::Failed(error.to_string())
        }
    }
}

/// Records a sent reminder, trying three times. The lease is never released after a send: if
/// the record cannot be written, the lease keeps other runs off the account until it lapses.
async fn record_sent<S: ReviewStore, M: Mailer>(
    run: &Run<'_, S, M>,
    account_id: &AccountId,
) -> Outcome {
    let mut last_error = None;
    for wait_ms in [0, 100, 500] {
        tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
        match run.store.finish_reminder(account_id, run.period).await {
            Ok(()) => return Outcome::Sent,
            Err(error) => last_error = Some(error),
        }
    }
    let error = last_error.map(|e| e.to_string()).unwrap_or_default();
    Outcome::Failed(format!(
        "the reminder was sent but could not be recorded: {error}"
    ))
}

#[derive(Debug, thiserror::Error)]
enum ReminderError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mail(#[from] MailError),
}

async fn all_delegates<S: ReviewStore>(
    store: &S,
    account_id: &AccountId,
) -> Result<Vec<Delegate>, StoreError> {
    let mut delegates = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list(account_id, crate::store::MAX_PAGE_SIZE, after)
            .await?;
        delegates.extend(page.items);
        match page.last_key {
            Some(last) => after = Some(last),
            None => return Ok(delegates),
        }
    }
}

struct Row {
    name: String,
    email: String,
    status: &'static str,
    expired: bool,
    invited_by: String,
    since: String,
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewHtml<'a> {
    subject: &'a str,
    account_id: &'a str,
    rows: &'a [Row],
    expired_count: usize,
    delegation_page: &'a str,
}

#[derive(Template)]
#[template(path = "review.txt", escape = "none")]
struct ReviewText<'a> {
    account_id: &'a str,
    rows: &'a [Row],
    expired_count: usize,
    delegation_page: &'a str,
}

/// The admins to remind: everyone who invited one of the delegates, deduplicated
/// case-insensitively, in the order first seen.
pub fn reminder_recipients(delegates: &[Delegate]) -> Vec<Email> {
    let mut seen = HashSet::new();
    delegates
        .iter()
        .map(|d| &d.invited_by.email)
        .filter(|email| seen.insert(email.identity()))
        .cloned()
        .collect()
}

/// The review reminder email for one account.
pub fn review_email(
    account_id: &AccountId,
    delegates: &[Delegate],
    portal_url: &str,
    now: OffsetDateTime,
) -> EmailMessage {
    let date = format_description!("[day padding:none] [month repr:long] [year]");
    let rows: Vec<Row> = delegates
        .iter()
        .map(|d| {
            let status = d.status_at(now);
            let since = d.accepted_at.unwrap_or(d.invited_at);
            Row {
                name: d.name.to_string(),
                email: d.email.to_string(),
                status: status.label(),
                expired: status == DelegateStatus::Expired,
                invited_by: d.invited_by.email.to_string(),
                since: since.format(&date).unwrap_or_default(),
            }
        })
        .collect();
    let expired_count = rows.iter().filter(|r| r.expired).count();
    let subject = format!(
        "Review your delegate users: {} with access to your account",
        rows.len()
    );
    let delegation_page = format!("{portal_url}/delegation");
    let html = ReviewHtml {
        subject: &subject,
        account_id: account_id.as_str(),
        rows: &rows,
        expired_count,
        delegation_page: &delegation_page,
    }
    .render()
    .expect("review HTML template renders");
    let text = ReviewText {
        account_id: account_id.as_str(),
        rows: &rows,
        expired_count,
        delegation_page: &delegation_page,
    }
    .render()
    .expect("review text template renders");
    EmailMessage {
        to: reminder_recipients(delegates),
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn periods_are_named_per_kind() {
        let at = datetime!(2026-12-03 09:00 UTC);
        assert_eq!(PeriodKind::Monthly.period_of(at), "2026-12");
        assert_eq!(PeriodKind::Weekly.period_of(at), "2026-W49");
        assert_eq!(PeriodKind::Daily.period_of(at), "2026-12-03");
        for kind in [PeriodKind::Monthly, PeriodKind::Weekly, PeriodKind::Daily] {
            assert!(kind.is_valid(&kind.period_of(at)));
        }
        assert!(!PeriodKind::Monthly.is_valid("2026-1"));
        assert!(!PeriodKind::Monthly.is_valid("2026-12-01"));
    }

    #[test]
    fn the_period_comes_from_the_event_shape() {
        let now = datetime!(2027-01-15 10:00 UTC);
        let envelope = serde_json::json!({
            "version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.scheduler",
            "time": "2026-12-01T09:00:00Z", "detail": {}
        });
        assert_eq!(
            period_for_event(&envelope, PeriodKind::Monthly, now).unwrap(),
            "2026-12"
        );
        let fixed = serde_json::json!({"source": "delegate-access.review-reminder"});
        assert_eq!(
            period_for_event(&fixed, PeriodKind::Monthly, now).unwrap(),
            "2027-01"
        );
        let manual = serde_json::json!({"period": "2026-11"});
        assert_eq!(
            period_for_event(&manual, PeriodKind::Monthly, now).unwrap(),
            "2026-11"
        );
        assert!(
            period_for_event(
                &serde_json::json!({"period": "soon"}),
                PeriodKind::Monthly,
                now
            )
            .is_err()
        );
    }
}
