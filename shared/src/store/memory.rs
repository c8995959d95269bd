use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Write};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::{
    AccountPage, DelegatePage, DelegateStore, Lease, LeaseOutcome, NewInvitation, ReminderAccount,
    ReviewStore, StoreError, keys,
};
use crate::domain::{
    AccountId, Delegate, DelegateId, DelegateStatus, InvitationToken, StoredStatus, TokenHash,
};

/// A delegate as stored: the record plus the hash of its unused invitation token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredDelegate {
    delegate: Delegate,
    token_hash: Option<TokenHash>,
}

/// The store's whole state: delegate records keyed like the table's delegate items, the email
/// claims keyed like its uniqueness items, and the daily invitation counters.
#[derive(Debug, Default, Clone)]
struct State {
    delegates: BTreeMap<(AccountId, DelegateId), StoredDelegate>,
    emails: HashMap<(AccountId, String), DelegateId>,
    invitations_per_day: HashMap<(AccountId, Date), u32>,
    /// Keyed like the reminder index: shard, then account.
    accounts: BTreeMap<(u8, AccountId), AccountMarker>,
}

/// The account marker: present once an account has had a delegate.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct AccountMarker {
    last_reminder_period: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    lease_until: Option<OffsetDateTime>,
    #[serde(default)]
    lease_owner: Option<String>,
}

impl State {
    fn from_snapshot(snapshot: Snapshot) -> Self {
        let mut state = Self::default();
        for record in snapshot.delegates {
            let account = record.delegate.account_id.clone();
            state.emails.insert(
                (account.clone(), record.delegate.email.identity()),
                record.delegate.id,
            );
            state
                .delegates
                .insert((account, record.delegate.id), record);
        }
        for (account_id, marker) in snapshot.accounts {
            state
                .accounts
                .insert((keys::shard_of(&account_id), account_id), marker);
        }
        for counter in snapshot.invitation_counters {
            state
                .invitations_per_day
                .insert((counter.account_id, counter.day), counter.count);
        }
        state
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            delegates: self.delegates.values().cloned().collect(),
            invitation_counters: self
                .invitations_per_day
                .iter()
                .map(|((account_id, day), count)| InvitationCounter {
                    account_id: account_id.clone(),
                    day: *day,
                    count: *count,
                })
                .collect(),
            accounts: self
                .accounts
                .iter()
                .map(|((_, id), marker)| (id.clone(), marker.clone()))
                .collect(),
        }
    }

    fn list(&self, account_id: &AccountId, limit: u16, after: Option<DelegateId>) -> DelegatePage {
        let limit = usize::from(limit.max(1));
        let in_account = self
            .delegates
            .range((account_id.clone(), DelegateId::MIN)..=(account_id.clone(), DelegateId::MAX))
            .rev()
            .filter(|((_, id), _)| after.is_none_or(|after| *id < after));
        let items: Vec<Delegate> = in_account
            .take(limit)
            .map(|(_, stored)| stored.delegate.clone())
            .collect();
        // Like DynamoDB, a full page hands back its last key even if nothing follows.
        let last_key = (items.len() == limit).then(|| items[limit - 1].id);
        DelegatePage { items, last_key }
    }

    fn add(&mut self, invitation: &NewInvitation) -> Result<(), StoreError> {
        let delegate = &invitation.delegate;
        let account = &delegate.account_id;
        let now = delegate.invited_at;
        let email_key = (account.clone(), delegate.email.identity());
        // The claim's holder must be gone or an expired invitation, which is replaced.
        let replaced = match self.emails.get(&email_key) {
            None => None,
            Some(holder) => match self.delegates.get(&(account.clone(), *holder)) {
                None => None,
                Some(stored) if stored.delegate.status_at(now) == DelegateStatus::Expired => {
                    Some(*holder)
                }
                Some(_) => return Err(StoreError::EmailTaken),
            },
        };
        let counter_key = (account.clone(), invitation.day());
        let sent_today = self
            .invitations_per_day
            .get(&counter_key)
            .copied()
            .unwrap_or(0);
        if sent_today >= invitation.daily_limit {
            return Err(StoreError::DailyLimitReached {
                limit: invitation.daily_limit,
                retry_after_seconds: invitation.seconds_until_next_day(),
            });
        }
        let key = (account.clone(), delegate.id);
        if self.delegates.contains_key(&key) {
            return Err(StoreError::Unavailable("delegate id collision".into()));
        }
        if let Some(old) = replaced {
            self.delegates.remove(&(account.clone(), old));
        }
        self.invitations_per_day.insert(counter_key, sent_today + 1);
        self.accounts
            .entry((keys::shard_of(account), account.clone()))
            .or_default();
        self.emails.insert(email_key, delegate.id);
        self.delegates.insert(
            key,
            StoredDelegate {
                delegate: delegate.clone(),
                token_hash: Some(invitation.token_hash.clone()),
            },
        );
        Ok(())
    }

    fn accept(
        &mut self,
        token: &InvitationToken,
        now: OffsetDateTime,
    ) -> Result<Delegate, StoreError> {
        let key = (token.account_id().clone(), token.delegate_id());
        let stored = self
            .delegates
            .get_mut(&key)
            .ok_or(StoreError::InvitationGone)?;
        let hash_matches = stored.token_hash.as_ref() == Some(&token.hash());
        if !hash_matches || !stored.delegate.is_acceptable_at(now) {
            return Err(StoreError::InvitationGone);
        }
        stored.token_hash = None;
        stored.delegate.status = StoredStatus::Active;
        stored.delegate.accepted_at = Some(now);
        Ok(stored.delegate.clone())
    }

    fn accounts(&self, shard: u8, limit: u16, after: Option<&AccountId>) -> AccountPage {
        let limit = usize::from(limit.max(1));
        let start = match after {
            Some(after) => Bound::Excluded((shard, after.clone())),
            None => Bound::Included((shard, AccountId::MIN.clone())),
        };
        let accounts: Vec<ReminderAccount> = self
            .accounts
            .range((start, Bound::Unbounded))
            .take_while(|((in_shard, _), _)| *in_shard == shard)
            .take(limit)
            .map(|((_, id), marker)| ReminderAccount {
                account_id: id.clone(),
                last_reminder_period: marker.last_reminder_period.clone(),
            })
            .collect();
        let last_key = (accounts.len() == limit).then(|| accounts[limit - 1].account_id.clone());
        AccountPage { accounts, last_key }
    }

    fn begin_reminder(
        &mut self,
        account_id: &AccountId,
        period: &str,
        lease: &Lease,
    ) -> LeaseOutcome {
        let key = (keys::shard_of(account_id), account_id.clone());
        let Some(marker) = self.accounts.get_mut(&key) else {
            return LeaseOutcome::AlreadyReminded;
        };
        if marker.last_reminder_period.as_deref() == Some(period) {
            return LeaseOutcome::AlreadyReminded;
        }
        if marker.lease_until.is_some_and(|until| until >= lease.now) {
            return LeaseOutcome::LeasedElsewhere;
        }
        marker.lease_until = Some(lease.until);
        marker.lease_owner = Some(lease.run_id.clone());
        LeaseOutcome::Acquired
    }

    fn finish_reminder(&mut self, account_id: &AccountId, period: &str) {
        let key = (keys::shard_of(account_id), account_id.clone());
        let marker = self.accounts.entry(key).or_default();
        marker.lease_until = None;
        marker.lease_owner = None;
        marker.last_reminder_period = Some(period.to_owned());
    }

    fn abandon_reminder(&mut self, account_id: &AccountId, run_id: &str) {
        let key = (keys::shard_of(account_id), account_id.clone());
        let held_by_this_run =
            |marker: &&mut AccountMarker| marker.lease_owner.as_deref() == Some(run_id);
        if let Some(marker) = self.accounts.get_mut(&key).filter(held_by_this_run) {
            marker.lease_until = None;
            marker.lease_owner = None;
        }
    }

    fn remove(&mut self, account_id: &AccountId, id: DelegateId) -> Result<Delegate, StoreError> {
        let stored = self
            .delegates
            .remove(&(account_id.clone(), id))
            .ok_or(StoreError::NotFound)?;
        let email_key = (account_id.clone(), stored.delegate.email.identity());
        if self.emails.get(&email_key) == Some(&id) {
            self.emails.remove(&email_key);
        }
        Ok(stored.delegate)
    }
}

/// An in-memory store with the DynamoDB store's semantics, optionally kept in a JSON file (the
/// local server's store: every change is written atomically before it counts).
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    snapshot: Option<PathBuf>,
}

/// The JSON file a persistent [`MemoryStore`] is kept in.
#[derive(Default, Serialize, Deserialize)]
struct Snapshot {
    delegates: Vec<StoredDelegate>,
    #[serde(default)]
    invitation_counters: Vec<InvitationCounter>,
    #[serde(default)]
    accounts: Vec<(AccountId, AccountMarker)>,
}

#[derive(Serialize, Deserialize)]
struct InvitationCounter {
    account_id: AccountId,
    day: Date,
    count: u32,
}

impl MemoryStore {
    /// An empty store that lives in memory only.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store kept in the JSON file at `path`, loaded from it if it exists.
    pub fn open(path: impl Into<PathBuf>) -> io::Result<Self> {
        let path = path.into();
        let state = match fs::read(&path) {
            Ok(bytes) => {
                let snapshot: Snapshot = serde_json::from_slice(&bytes).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: {e}", path.display()),
                    )
                })?;
                State::from_snapshot(snapshot)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(e),
        };
        Ok(Self {
            state: Mutex::new(state),
            snapshot: Some(path),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Changes are made to a copy and swapped in whole, so even a poisoned lock guards a
        // consistent state.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Number of email claims the account holds (for consistency checks in tests).
    pub fn email_claims(&self, account_id: &AccountId) -> usize {
        self.lock()
            .emails
            .keys()
            .filter(|(account, _)| account == account_id)
            .count()
    }

    /// Applies `change` (which checks everything before it changes anything, so a refused change
    /// leaves the state as it was). With a file, the change is made to a copy that is written
    /// first and only then becomes the state: a failed write changes nothing.
    fn mutate<T>(
        &self,
        change: impl FnOnce(&mut State) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.lock();
        let Some(path) = &self.snapshot else {
            return change(&mut state);
        };
        let mut next = state.clone();
        let result = change(&mut next)?;
        write_atomically(path, &next).map_err(|e| {
            StoreError::Unavailable(format!("cannot write {}: {e}", path.display()))
        })?;
        *state = next;
        Ok(result)
    }
}

/// Writes the state to a temporary file beside `path`, syncs it and renames it over `path`.
fn write_atomically(path: &Path, state: &State) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(&state.snapshot()).map_err(io::Error::other)?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension("json.tmp");
    let mut file = fs::File::create(&temporary)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    fs::rename(&temporary, path)
}

impl DelegateStore for MemoryStore {
    async fn list(
        &self,
        account_id: &AccountId,
        limit: u16,
        after: Option<DelegateId>,
    ) -> Result<DelegatePage, StoreError> {
        Ok(self.lock().list(account_id, limit, after))
    }

    async fn add(&self, invitation: &NewInvitation) -> Result<(), StoreError> {
        self.mutate(|state| state.add(invitation))
    }

    async fn accept(
        &self,
        token: &InvitationToken,
        now: OffsetDateTime,
    ) -> Result<Delegate, StoreError> {
        self.mutate(|state| state.accept(token, now))
    }

    async fn remove(&self, account_id: &AccountId, id: DelegateId) -> Result<Delegate, StoreError> {
        self.mutate(|state| state.remove(account_id, id))
    }
}

impl ReviewStore for MemoryStore {
    async fn accounts(
        &self,
        shard: u8,
        limit: u16,
        after: Option<&AccountId>,
    ) -> Result<AccountPage, StoreError> {
        Ok(self.lock().accounts(shard, limit, after))
    }

    async fn begin_reminder(
        &self,
        account_id: &AccountId,
        period: &str,
        lease: &Lease,
    ) -> Result<LeaseOutcome, StoreError> {
        self.mutate(|state| Ok(state.begin_reminder(account_id, period, lease)))
    }

    async fn finish_reminder(
        &self,
        account_id: &AccountId,
        period: &str,
    ) -> Result<(), StoreError> {
        self.mutate(|state| {
            state.finish_reminder(account_id, period);
            Ok(())
        })
    }

    async fn abandon_reminder(
        &self,
        account_id: &AccountId,
        run_id: &str,
    ) -> Result<(), StoreError> {
        self.mutate(|state| {
            state.abandon_reminder(account_id, run_id);
            Ok(())
        })
    }
}
