use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{AccountId, DelegateId, DelegateName, Email};

/// The status a delegate is stored with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredStatus {
    /// Invited; the invitation has not been accepted.
    Pending,
    /// The invitation was accepted.
    Active,
}

/// The status a delegate is reported with: a pending one past its expiry is `expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DelegateStatus {
    /// Invited, link still valid.
    Pending,
    /// Accepted.
    Active,
    /// Invited, but the link expired before it was used.
    Expired,
}

impl DelegateStatus {
    /// The word shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Expired => "expired invitation",
        }
    }
}

/// The administrator who sent an invitation, from their verified token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inviter {
    /// The admin's `sub` claim.
    pub sub: String,
    /// The admin's email claim.
    pub email: Email,
}

/// The admin's acknowledgement of the access notice, recorded with each invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeAcknowledgement {
    /// The notice version the admin was shown and acknowledged.
    pub version: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub acknowledged_at: OffsetDateTime,
    /// Who (the admin's `sub`).
    pub acknowledged_by: String,
}

/// A delegate user of an account, pending or active. Never carries the invitation token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegate {
    /// Sortable id.
    pub id: DelegateId,
    /// The account the delegate may act for.
    pub account_id: AccountId,
    /// Display name.
    pub name: DelegateName,
    /// Email address, as typed.
    pub email: Email,
    /// Stored status.
    pub status: StoredStatus,
    /// The admin who invited them.
    pub invited_by: Inviter,
    /// When the invitation was sent.
    #[serde(with = "time::serde::rfc3339")]
    pub invited_at: OffsetDateTime,
    /// When the invitation link stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub invitation_expires_at: OffsetDateTime,
    /// When the invitation was accepted.
    #[serde(with = "time::serde::rfc3339::option")]
    pub accepted_at: Option<OffsetDateTime>,
    /// The access notice acknowledgement.
    pub notice: NoticeAcknowledgement,
}

impl Delegate {
    /// The status to report at `now`.
    pub fn status_at(&self, now: OffsetDateTime) -> DelegateStatus {
        match self.status {
            StoredStatus::Active => DelegateStatus::Active,
            StoredStatus::Pending if now >= self.invitation_expires_at => DelegateStatus::Expired,
            StoredStatus::Pending => DelegateStatus::Pending,
        }
    }

    /// Whether the invitation can still be accepted at `now`.
    pub fn is_acceptable_at(&self, now: OffsetDateTime) -> bool {
        self.status_at(now) == DelegateStatus::Pending
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;

    fn pending(expires_at: OffsetDateTime) -> Delegate {
        Delegate {
            id: DelegateId::generate(),
            account_id: AccountId::parse("acme").unwrap(),
            name: DelegateName::parse("Bob").unwrap(),
            email: Email::parse("bob@example.com").unwrap(),
            status: StoredStatus::Pending,
            invited_by: Inviter {
                sub: "admin-1".into(),
                email: Email::parse("admin@example.com").unwrap(),
            },
            invited_at: expires_at - Duration::days(7),
            invitation_expires_at: expires_at,
            accepted_at: None,
            notice: NoticeAcknowledgement {
                version: "2026-01".into(),
                acknowledged_at: expires_at - Duration::days(7),
                acknowledged_by: "admin-1".into(),
            },
        }
    }

    #[test]
    fn a_pending_delegate_past_its_expiry_is_reported_expired() {
        let expiry = datetime!(2026-12-10 12:00 UTC);
        let delegate = pending(expiry);
        assert_eq!(
            delegate.status_at(expiry - Duration::seconds(1)),
            DelegateStatus::Pending
        );
        assert_eq!(delegate.status_at(expiry), DelegateStatus::Expired);
        assert!(!delegate.is_acceptable_at(expiry));
    }

    #[test]
    fn an_active_delegate_never_expires() {
        let mut delegate = pending(datetime!(2026-12-10 12:00 UTC));
        delegate.status = StoredStatus::Active;
        assert_eq!(
            delegate.status_at(datetime!(2030-01-01 0:00 UTC)),
            DelegateStatus::Active
        );
    }
}
