//! The DynamoDB store. The item design is documented in `shared/src/store/ITEMS.md`.

use std::collections::HashMap;

use aws_lc_rs::digest;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use time::{Duration, OffsetDateTime};

use super::{
    AccountPage, DelegatePage, DelegateStore, Lease, LeaseOutcome, NewInvitation, ReminderAccount,
    ReviewStore, StoreError,
};
use crate::domain::{
    AccountId, Delegate, DelegateId, DelegateName, Email, InvitationToken, Inviter,
    NoticeAcknowledgement, StoredStatus, TokenHash,
};

type Item = HashMap<String, AttributeValue>;

/// Partition key attribute.
pub const PARTITION_KEY: &str = "PK";
/// Sort key attribute.
pub const SORT_KEY: &str = "SK";
/// The TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "ttl";
/// The sparse index of accounts that have (had) delegates, for review reminders.
pub const REMINDER_INDEX: &str = "ReminderIndex";
/// The reminder index's partition key attribute.
pub const REMINDER_SHARD_ATTRIBUTE: &str = "reminder_shard";
/// How many partitions the reminder index spreads accounts over. Every reminder run queries
/// each shard at least once, so this is also the fixed cost of a run; four partitions take
/// 4,000 index writes per second, far above the SES sending rates that drive them.
pub const REMINDER_SHARDS: u8 = 4;

const DELEGATE_PREFIX: &str = "DELEGATE#";
const EMAIL_PREFIX: &str = "EMAIL#";
const ACCOUNT_MARKER: &str = "ACCOUNT";
const CONDITION_FAILED: &str = "ConditionalCheckFailed";

/// Keys of the items.
pub mod keys {
    use super::*;

    /// `ACCOUNT#{account}`: every item of an account lives in its partition.
    pub fn account(account_id: &AccountId) -> String {
        format!("ACCOUNT#{account_id}")
    }

    /// `DELEGATE#{id}`: ids are UUIDv7, so the sort order is creation order.
    pub fn delegate(id: DelegateId) -> String {
        format!("{DELEGATE_PREFIX}{id}")
    }

    /// `EMAIL#{lower-cased address}`: the email uniqueness claim.
    pub fn email(identity: &str) -> String {
        format!("{EMAIL_PREFIX}{identity}")
    }

    /// `INVITES#{yyyy-mm-dd}`: the daily invitation counter.
    pub fn invitations(day: time::Date) -> String {
        format!("INVITES#{day}")
    }

    /// `ACCOUNT`: the account marker, indexed in the reminder index.
    pub const MARKER: &str = ACCOUNT_MARKER;

    /// The reminder shard of an account: a stable hash of its id, 0..[`REMINDER_SHARDS`].
    pub fn shard_of(account_id: &AccountId) -> u8 {
        let hash = digest::digest(&digest::SHA256, account_id.as_str().as_bytes());
        hash.as_ref()[0] % REMINDER_SHARDS
    }

    /// `SHARD#nn`: the reminder index partition key of a shard.
    pub fn reminder_shard(shard: u8) -> String {
        format!("SHARD#{shard:02}")
    }
}

/// Delegates in one DynamoDB table (keys `PK`/`SK`, TTL attribute `ttl`).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    retention: Duration,
}

impl DynamoStore {
    /// A store on `table`; expired invitations stay `retention` past expiry before TTL removes them.
    pub fn new(client: Client, table: impl Into<String>, retention: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            retention,
        }
    }

    /// The SDK client (for warming the connection at start-up).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn key(&self, account_id: &AccountId, sort_key: String) -> Item {
        HashMap::from([
            (PARTITION_KEY.to_owned(), s(keys::account(account_id))),
            (SORT_KEY.to_owned(), s(sort_key)),
        ])
    }

    /// The add transaction; `replacing` is the holder of the email claim being taken over.
    fn add_items(
        &self,
        invitation: &NewInvitation,
        replacing: Option<DelegateId>,
    ) -> Result<AddTransaction, StoreError> {
        let delegate = &invitation.delegate;
        let account = &delegate.account_id;
        let now = delegate.invited_at;
        let mut items = Vec::new();

        let ttl = delegate.invitation_expires_at + self.retention;
        let put_delegate = Put::builder()
            .table_name(&self.table)
            .set_item(Some(delegate_item(
                delegate,
                Some(&invitation.token_hash),
                Some(ttl),
            )))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_error)?;
        items.push(TransactWriteItem::builder().put(put_delegate).build());

        let mut claim = self.key(account, keys::email(&delegate.email.identity()));
        claim.insert("entity".into(), s("email_claim"));
        claim.insert("delegate_id".into(), s(delegate.id.to_string()));
        let put_claim = Put::builder().table_name(&self.table).set_item(Some(claim));
        let put_claim = match replacing {
            None => put_claim
                .condition_expression("attribute_not_exists(PK)")
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                ),
            Some(old) => put_claim
                .condition_expression("delegate_id = :holder")
                .expression_attribute_values(":holder", s(old.to_string())),
        };
        let claim_index = items.len();
        items.push(
            TransactWriteItem::builder()
                .put(put_claim.build().map_err(build_error)?)
                .build(),
        );

        let replaced_index = match replacing {
            None => None,
            Some(old) => {
                // The holder must be gone already or an expired invitation, which goes now.
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(self.key(account, keys::delegate(old))))
                    .condition_expression(
                        "attribute_not_exists(PK) OR (#status = :pending AND expires_at <= :now)",
                    )
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":pending", s("pending"))
                    .expression_attribute_values(":now", n(now.unix_timestamp()))
                    .build()
                    .map_err(build_error)?;
                items.push(TransactWriteItem::builder().delete(delete).build());
                Some(items.len() - 1)
            }
        };

        let marker = Update::builder()
            .table_name(&self.table)
            .set_key(Some(self.key(account, keys::MARKER.to_owned())))
            .update_expression("SET #shard = :shard, account_id = :account, entity = :entity")
            .expression_attribute_names("#shard", REMINDER_SHARD_ATTRIBUTE)
            .expression_attribute_values(":shard", s(keys::reminder_shard(keys::shard_of(account))))
            .expression_attribute_values(":account", s(account.to_string()))
            .expression_attribute_values(":entity", s("account"))
            .build()
            .map_err(build_error)?;
        items.push(TransactWriteItem::builder().update(marker).build());

        let counter_ttl = now + Duration::days(2);
        let counter = Update::builder()
            .table_name(&self.table)
            .set_key(Some(self.key(account, keys::invitations(invitation.day()))))
            .update_expression("ADD invitations :one SET #ttl = :ttl, entity = :entity")
            .condition_expression("attribute_not_exists(invitations) OR invitations < :limit")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(i64::from(invitation.daily_limit)))
            .expression_attribute_values(":ttl", n(counter_ttl.unix_timestamp()))
            .expression_attribute_values(":entity", s("invitation_counter"))
            .build()
            .map_err(build_error)?;
        items.push(TransactWriteItem::builder().update(counter).build());
        let counter_index = items.len() - 1;

        Ok(AddTransaction {
            items,
            claim_index,
            replaced_index,
            counter_index,
        })
    }

    async fn try_add(
        &self,
        invitation: &NewInvitation,
        replacing: Option<DelegateId>,
    ) -> Result<AddOutcome, StoreError> {
        let transaction = self.add_items(invitation, replacing)?;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(transaction.items))
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(AddOutcome::Added),
            Err(error) => error,
        };
        let Some(reasons) = cancellation_reasons(&error) else {
            return Err(unavailable(&error));
        };
        let failed = |index: usize| condition_failed(reasons.get(index));
        if is_conflict(reasons) {
            return Ok(AddOutcome::Conflict);
        }
        if failed(transaction.claim_index) {
            let holder = reasons[transaction.claim_index]
                .item()
                .and_then(|item| item.get("delegate_id"))
                .and_then(|v| v.as_s().ok())
                .and_then(|id| DelegateId::parse(id).ok());
            return Ok(match (replacing, holder) {
                (None, Some(holder)) => AddOutcome::ClaimHeldBy(holder),
                _ => AddOutcome::EmailTaken,
            });
        }
        if transaction.replaced_index.is_some_and(failed) {
            return Ok(AddOutcome::EmailTaken);
        }
        if failed(transaction.counter_index) {
            return Err(StoreError::DailyLimitReached {
                limit: invitation.daily_limit,
                retry_after_seconds: invitation.seconds_until_next_day(),
            });
        }
        Err(unavailable(&error))
    }
}

impl DynamoStore {
    async fn remove_delegate_item_only(
        &self,
        account_id: &AccountId,
        id: DelegateId,
        delegate: Delegate,
    ) -> Result<Delegate, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(self.key(account_id, keys::delegate(id))))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(delegate),
            Err(error)
                if error.as_service_error().is_some_and(
                    aws_sdk_dynamodb::operation::delete_item::DeleteItemError::is_conditional_check_failed_exception,
                ) =>
            {
                Err(StoreError::NotFound)
            }
            Err(error) => Err(unavailable(&error)),
        }
    }
}

struct AddTransaction {
    items: Vec<TransactWriteItem>,
    claim_index: usize,
    replaced_index: Option<usize>,
    counter_index: usize,
}

enum AddOutcome {
    Added,
    ClaimHeldBy(DelegateId),
    EmailTaken,
    /// Another transaction on the same items (e.g. a concurrent add in the account) was in
    /// flight; nothing was written and the same transaction may simply be tried again.
    Conflict,
}

/// Waits before each try of a transaction that met a concurrent one: 0, ~20, ~80 and ~250 ms,
/// with jitter so that racing requests spread out.
const CONFLICT_BACKOFF_MS: [u64; 4] = [0, 20, 80, 250];

async fn backoff(wait_ms: u64) {
    if wait_ms > 0 {
        let jitter = u64::from(uuid::Uuid::now_v7().as_bytes()[15]) % (wait_ms / 2 + 1);
        tokio::time::sleep(std::time::Duration::from_millis(wait_ms + jitter)).await;
    }
}

impl DelegateStore for DynamoStore {
    async fn list(
        &self,
        account_id: &AccountId,
        limit: u16,
        after: Option<DelegateId>,
    ) -> Result<DelegatePage, StoreError> {
        let pk = keys::account(account_id);
        let start = after.map(|after| {
            HashMap::from([
                (PARTITION_KEY.to_owned(), s(pk.clone())),
                (SORT_KEY.to_owned(), s(keys::delegate(after))),
            ])
        });
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(DELEGATE_PREFIX))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(i32::from(limit.max(1)))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| unavailable(&e))?;
        let items = output
            .items()
            .iter()
            .map(delegate_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let last_key = output
            .last_evaluated_key()
            .and_then(|key| key.get(SORT_KEY))
            .and_then(|sk| sk.as_s().ok())
            .and_then(|sk| sk.strip_prefix(DELEGATE_PREFIX))
            .and_then(|id| DelegateId::parse(id).ok());
        Ok(DelegatePage { items, last_key })
    }

    async fn add(&self, invitation: &NewInvitation) -> Result<(), StoreError> {
        let mut replacing = None;
        for wait_ms in CONFLICT_BACKOFF_MS {
            backoff(wait_ms).await;
            match self.try_add(invitation, replacing).await? {
                AddOutcome::Added => return Ok(()),
                AddOutcome::EmailTaken => return Err(StoreError::EmailTaken),
                AddOutcome::Conflict => continue,
                // The claim is this very invitation's: an earlier attempt of this add was
                // applied although its answer was lost (the SDK retried it).
                AddOutcome::ClaimHeldBy(holder) if holder == invitation.delegate.id => {
                    return Ok(());
                }
                // The claim's holder may be an expired invitation (replaced) or gone (TTL):
                // try once more, taking the claim over.
                AddOutcome::ClaimHeldBy(_) if replacing.is_some() => {
                    return Err(StoreError::EmailTaken);
                }
                AddOutcome::ClaimHeldBy(holder) => replacing = Some(holder),
            }
        }
        Err(StoreError::Unavailable(
            "the add kept conflicting with concurrent transactions".into(),
        ))
    }

    async fn accept(
        &self,
        token: &InvitationToken,
        now: OffsetDateTime,
    ) -> Result<Delegate, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(
                self.key(token.account_id(), keys::delegate(token.delegate_id())),
            ))
            .condition_expression("token_hash = :hash AND #status = :pending AND expires_at > :now")
            .update_expression("SET #status = :active, accepted_at = :now REMOVE token_hash, #ttl")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":hash", s(token.hash().as_str()))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => delegate_from_item(output.attributes().unwrap_or(&HashMap::new())),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Err(StoreError::InvitationGone)
            }
            Err(error) => Err(unavailable(&error)),
        }
    }

    async fn remove(&self, account_id: &AccountId, id: DelegateId) -> Result<Delegate, StoreError> {
        let key = self.key(account_id, keys::delegate(id));
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable(&e))?;
        let delegate = delegate_from_item(output.item().ok_or(StoreError::NotFound)?)?;
        let delete_delegate = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(build_error)?;
        let delete_claim = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(
                self.key(account_id, keys::email(&delegate.email.identity())),
            ))
            .condition_expression("attribute_not_exists(PK) OR delegate_id = :id")
            .expression_attribute_values(":id", s(id.to_string()))
            .build()
            .map_err(build_error)?;
        for wait_ms in CONFLICT_BACKOFF_MS {
            backoff(wait_ms).await;
            let result = self
                .client
                .transact_write_items()
                .transact_items(
                    TransactWriteItem::builder()
                        .delete(delete_delegate.clone())
                        .build(),
                )
                .transact_items(
                    TransactWriteItem::builder()
                        .delete(delete_claim.clone())
                        .build(),
                )
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(delegate),
                Err(error) => error,
            };
            match cancellation_reasons(&error) {
                Some(reasons) if condition_failed(reasons.first()) => {
                    return Err(StoreError::NotFound);
                }
                Some(reasons) if is_conflict(reasons) => continue,
                Some(reasons) if condition_failed(reasons.get(1)) => {
                    // The claim belongs to another delegate (this one's claim was taken over
                    // after a TTL anomaly): remove this delegate alone.
                    return self
                        .remove_delegate_item_only(account_id, id, delegate)
                        .await;
                }
                _ => return Err(unavailable(&error)),
            }
        }
        Err(StoreError::Unavailable(
            "the remove kept conflicting with concurrent transactions".into(),
        ))
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn build_error(error: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Unavailable(format!("request could not be built: {error}"))
}

fn unavailable<E, R>(error: &SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable(DisplayErrorContext(error).to_string())
}

fn cancellation_reasons<R>(
    error: &SdkError<TransactWriteItemsError, R>,
) -> Option<&[CancellationReason]> {
    match error.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => {
            Some(cancelled.cancellation_reasons())
        }
        _ => None,
    }
}

fn is_conflict(reasons: &[CancellationReason]) -> bool {
    reasons
        .iter()
        .any(|reason| reason.code() == Some("TransactionConflict"))
}

fn condition_failed(reason: Option<&CancellationReason>) -> bool {
    reason.and_then(CancellationReason::code) == Some(CONDITION_FAILED)
}

/// The delegate item. `token_hash` and `ttl` are only set while the invitation is pending.
fn delegate_item(
    delegate: &Delegate,
    token_hash: Option<&TokenHash>,
    ttl: Option<OffsetDateTime>,
) -> Item {
    let mut item = HashMap::from([
        (
            PARTITION_KEY.to_owned(),
            s(keys::account(&delegate.account_id)),
        ),
        (SORT_KEY.to_owned(), s(keys::delegate(delegate.id))),
        ("entity".to_owned(), s("delegate")),
        ("id".to_owned(), s(delegate.id.to_string())),
        ("account_id".to_owned(), s(delegate.account_id.as_str())),
        ("name".to_owned(), s(delegate.name.as_str())),
        ("email".to_owned(), s(delegate.email.as_str())),
        ("status".to_owned(), s(status_word(delegate.status))),
        ("invited_by_sub".to_owned(), s(&delegate.invited_by.sub)),
        (
            "invited_by_email".to_owned(),
            s(delegate.invited_by.email.as_str()),
        ),
        (
            "invited_at".to_owned(),
            n(delegate.invited_at.unix_timestamp()),
        ),
        (
            "expires_at".to_owned(),
            n(delegate.invitation_expires_at.unix_timestamp()),
        ),
        ("notice_version".to_owned(), s(&delegate.notice.version)),
        (
            "notice_acknowledged_at".to_owned(),
            n(delegate.notice.acknowledged_at.unix_timestamp()),
        ),
        (
            "notice_acknowledged_by".to_owned(),
            s(&delegate.notice.acknowledged_by),
        ),
    ]);
    if let Some(at) = delegate.accepted_at {
        item.insert("accepted_at".to_owned(), n(at.unix_timestamp()));
    }
    if let Some(hash) = token_hash {
        item.insert("token_hash".to_owned(), s(hash.as_str()));
    }
    if let Some(ttl) = ttl {
        item.insert(TTL_ATTRIBUTE.to_owned(), n(ttl.unix_timestamp()));
    }
    item
}

fn status_word(status: StoredStatus) -> &'static str {
    match status {
        StoredStatus::Pending => "pending",
        StoredStatus::Active => "active",
    }
}

/// Reads a delegate item; an item that does not read back is reported, never guessed at.
pub(crate) fn delegate_from_item(item: &Item) -> Result<Delegate, StoreError> {
    let corrupt = |attribute: &str| {
        StoreError::Unavailable(format!(
            "delegate item has a missing or invalid `{attribute}`"
        ))
    };
    let text = |attribute: &'static str| {
        item.get(attribute)
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| corrupt(attribute))
    };
    let time = |attribute: &'static str| {
        item.get(attribute)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(|v| OffsetDateTime::from_unix_timestamp(v).ok())
            .ok_or_else(|| corrupt(attribute))
    };
    Ok(Delegate {
        id: DelegateId::parse(text("id")?).map_err(|_| corrupt("id"))?,
        account_id: AccountId::parse(text("account_id")?).map_err(|_| corrupt("account_id"))?,
        name: DelegateName::from_stored(text("name")?.clone()),
        email: Email::from_stored(text("email")?.clone()),
        status: match text("status")?.as_str() {
            "pending" => StoredStatus::Pending,
            "active" => StoredStatus::Active,
            _ => return Err(corrupt("status")),
        },
        invited_by: Inviter {
            sub: text("invited_by_sub")?.clone(),
            email: Email::from_stored(text("invited_by_email")?.clone()),
        },
        invited_at: time("invited_at")?,
        invitation_expires_at: time("expires_at")?,
        accepted_at: item
            .contains_key("accepted_at")
            .then(|| time("accepted_at"))
            .transpose()?,
        notice: NoticeAcknowledgement {
            version: text("notice_version")?.clone(),
            acknowledged_at: time("notice_acknowledged_at")?,
            acknowledged_by: text("notice_acknowledged_by")?.clone(),
        },
    })
}

impl ReviewStore for DynamoStore {
    async fn accounts(
        &self,
        shard: u8,
        limit: u16,
        after: Option<&AccountId>,
    ) -> Result<AccountPage, StoreError> {
        let shard_key = keys::reminder_shard(shard);
        let start = after.map(|after| {
            HashMap::from([
                (REMINDER_SHARD_ATTRIBUTE.to_owned(), s(shard_key.clone())),
                (PARTITION_KEY.to_owned(), s(keys::account(after))),
                (SORT_KEY.to_owned(), s(keys::MARKER)),
            ])
        });
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(REMINDER_INDEX)
            .key_condition_expression("#shard = :shard")
            .expression_attribute_names("#shard", REMINDER_SHARD_ATTRIBUTE)
            .expression_attribute_values(":shard", s(shard_key))
            .limit(i32::from(limit.max(1)))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| unavailable(&e))?;
        let account_of = |key: Option<&AttributeValue>| {
            key.and_then(|pk| pk.as_s().ok())
                .and_then(|pk| pk.strip_prefix("ACCOUNT#"))
                .and_then(|id| AccountId::parse(id).ok())
        };
        let accounts = output
            .items()
            .iter()
            .map(|item| {
                let account_id = account_of(item.get(PARTITION_KEY)).ok_or_else(|| {
                    StoreError::Unavailable("reminder index item without an account key".into())
                })?;
                let last_reminder_period = item
                    .get("last_reminder_period")
                    .and_then(|v| v.as_s().ok())
                    .cloned();
                Ok(ReminderAccount {
                    account_id,
                    last_reminder_period,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let last_key = account_of(
            output
                .last_evaluated_key()
                .and_then(|k| k.get(PARTITION_KEY)),
        );
        Ok(AccountPage { accounts, last_key })
    }

    async fn begin_reminder(
        &self,
        account_id: &AccountId,
        period: &str,
        lease: &Lease,
    ) -> Result<LeaseOutcome, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(account_id, keys::MARKER.to_owned())))
            .condition_expression(
                "attribute_exists(PK) \
                 AND (attribute_not_exists(last_reminder_period) OR last_reminder_period <> :period) \
                 AND (attribute_not_exists(lease_until) OR lease_until < :now)",
            )
            .update_expression("SET lease_until = :until, lease_owner = :run")
            .expression_attribute_values(":period", s(period))
            .expression_attribute_values(":now", n(lease.now.unix_timestamp()))
            .expression_attribute_values(":until", n(lease.until.unix_timestamp()))
            .expression_attribute_values(":run", s(&lease.run_id))
            .send()
            .await;
        match result {
            Ok(_) => Ok(LeaseOutcome::Acquired),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                // Refused: tell "already sent" from "another run is on it".
                let marker = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(self.key(account_id, keys::MARKER.to_owned())))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| unavailable(&e))?;
                let sent = marker
                    .item()
                    .and_then(|item| item.get("last_reminder_period"))
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|sent| sent == period);
                Ok(match (marker.item(), sent) {
                    (None, _) | (_, true) => LeaseOutcome::AlreadyReminded,
                    _ => LeaseOutcome::LeasedElsewhere,
                })
            }
            Err(error) => Err(unavailable(&error)),
        }
    }

    async fn finish_reminder(
        &self,
        account_id: &AccountId,
        period: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(account_id, keys::MARKER.to_owned())))
            .update_expression("SET last_reminder_period = :period REMOVE lease_until, lease_owner")
            .expression_attribute_values(":period", s(period))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable(&e))
    }

    async fn abandon_reminder(
        &self,
        account_id: &AccountId,
        run_id: &str,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(account_id, keys::MARKER.to_owned())))
            .condition_expression("lease_owner = :run")
            .update_expression("REMOVE lease_until, lease_owner")
            .expression_attribute_values(":run", s(run_id))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Not this run's lease (any more): leave it to its holder.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(())
            }
            Err(error) => Err(unavailable(&error)),
        }
    }
}
