//! Storage of delegates behind a narrow trait. Each operation maps onto exactly one DynamoDB
//! request (remove: at most two), and every implementation has the same conditions, uniqueness
//! and pagination semantics; `tests/` runs one contract suite against all of them.

mod dynamo;
mod memory;

use std::future::Future;

use time::OffsetDateTime;

use crate::domain::{AccountId, Delegate, DelegateId, InvitationToken, TokenHash};

pub use dynamo::{
    DynamoStore, PARTITION_KEY, REMINDER_INDEX, REMINDER_SHARD_ATTRIBUTE, REMINDER_SHARDS,
    SORT_KEY, TTL_ATTRIBUTE, keys,
};

pub use memory::MemoryStore;

/// The most delegates one list page may hold.
pub const MAX_PAGE_SIZE: u16 = 100;

/// A new, pending invitation to store.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    /// The delegate record, with status pending; its `invited_at` is "now" for the store.
    pub delegate: Delegate,
    /// SHA-256 of the invitation token.
    pub token_hash: TokenHash,
    /// How many invitations the account may send per UTC day, this one included.
    pub daily_limit: u32,
}

impl NewInvitation {
    /// The UTC day whose invitation counter this invitation counts against.
    pub fn day(&self) -> time::Date {
        self.delegate
            .invited_at
            .to_offset(time::UtcOffset::UTC)
            .date()
    }

    /// Seconds from the invitation until the next UTC midnight, when the day's counter resets.
    pub fn seconds_until_next_day(&self) -> u64 {
        let at = self.delegate.invited_at.to_offset(time::UtcOffset::UTC);
        let midnight = at.date().next_day().map(|d| d.midnight().assume_utc());
        midnight.map_or(86_400, |m| (m - at).whole_seconds().max(1) as u64)
    }
}

/// One page of an account's delegates, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegatePage {
    /// The delegates on this page.
    pub items: Vec<Delegate>,
    /// Where the next page starts (exclusive), if there may be one.
    pub last_key: Option<DelegateId>,
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The account already has a pending or active delegate with this email.
    #[error("the account already has a delegate with this email address")]
    EmailTaken,
    /// No delegate with this id in this account.
    #[error("no such delegate in this account")]
    NotFound,
    /// The invitation is unknown, already used, revoked or expired.
    #[error("the invitation is unknown, used, revoked or expired")]
    InvitationGone,
    /// The account has sent its daily allowance of invitations.
    #[error("the account sent its {limit} invitations for today")]
    DailyLimitReached {
        /// The allowance.
        limit: u32,
        /// Seconds until the allowance resets.
        retry_after_seconds: u64,
    },
    /// The store could not do the work now (throttling, outage); nothing was changed.
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
}

/// Storage of delegates and their invitations.
pub trait DelegateStore: Send + Sync + 'static {
    /// One page of the account's delegates, newest first, starting after `after`.
    /// One DynamoDB Query.
    fn list(
        &self,
        account_id: &AccountId,
        limit: u16,
        after: Option<DelegateId>,
    ) -> impl Future<Output = Result<DelegatePage, StoreError>> + Send;

    /// Stores a pending invitation, counting it against the account's daily allowance. Refuses an
    /// email the account already has (case-insensitive) unless its holder is an expired
    /// invitation, which the new one replaces. One DynamoDB TransactWriteItems (a second one only
    /// to replace an expired invitation or reclaim a claim left by one TTL removed).
    fn add(
        &self,
        invitation: &NewInvitation,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Accepts the invitation the token names if its hash matches, it is pending and unexpired
    /// at `now`; returns the now active delegate. One DynamoDB request.
    fn accept(
        &self,
        token: &InvitationToken,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Delegate, StoreError>> + Send;

    /// Removes a delegate, pending or active, with its email claim; returns what was removed.
    /// At most two DynamoDB requests.
    fn remove(
        &self,
        account_id: &AccountId,
        id: DelegateId,
    ) -> impl Future<Output = Result<Delegate, StoreError>> + Send;
}

/// An account in the reminder index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderAccount {
    /// The account.
    pub account_id: AccountId,
    /// The period of the last reminder it was sent, if any.
    pub last_reminder_period: Option<String>,
}

/// One page of the accounts in one reminder shard, in account id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPage {
    /// The accounts.
    pub accounts: Vec<ReminderAccount>,
    /// Where the next page starts (exclusive), if there may be one.
    pub last_key: Option<AccountId>,
}

/// A run's claim on an account's reminder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The run taking it.
    pub run_id: String,
    /// Now.
    pub now: OffsetDateTime,
    /// When it lapses if the run neither finishes nor releases it (a crashed run).
    pub until: OffsetDateTime,
}

/// What [`ReviewStore::begin_reminder`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// The lease is this run's: send the reminder.
    Acquired,
    /// The period's reminder was already sent.
    AlreadyReminded,
    /// Another run holds the account now; try again after its lease lapses.
    LeasedElsewhere,
}

/// What the review reminder job needs beyond [`DelegateStore`]: the accounts that have had
/// delegates (a sparse index, paged per shard) and a per-account record of the last reminder.
pub trait ReviewStore: DelegateStore {
    /// One page of the accounts in `shard` (0..[`REMINDER_SHARDS`]), after `after`.
    /// One DynamoDB Query on the reminder index.
    fn accounts(
        &self,
        shard: u8,
        limit: u16,
        after: Option<&AccountId>,
    ) -> impl Future<Output = Result<AccountPage, StoreError>> + Send;

    /// Takes the right to send the account its reminder for `period`, unless the period's
    /// reminder was already sent or another run holds an unexpired lease. One conditional
    /// UpdateItem (and a GetItem to tell the two refusals apart).
    fn begin_reminder(
        &self,
        account_id: &AccountId,
        period: &str,
        lease: &Lease,
    ) -> impl Future<Output = Result<LeaseOutcome, StoreError>> + Send;

    /// Records that the period's reminder was sent and releases the lease. One UpdateItem.
    fn finish_reminder(
        &self,
        account_id: &AccountId,
        period: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Releases this run's lease without recording a reminder (nothing was sent), so a retry can
    /// send it; a lease another run holds now is left alone. One conditional UpdateItem.
    fn abandon_reminder(
        &self,
        account_id: &AccountId,
        run_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
