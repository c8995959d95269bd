//! Domain types: each validates on construction, so a value that exists is a valid one.

mod delegate;
mod email;
mod ids;
mod name;
mod token;

pub use delegate::{Delegate, DelegateStatus, Inviter, NoticeAcknowledgement, StoredStatus};
pub use email::Email;
pub use ids::{AccountId, DelegateId};
pub use name::DelegateName;
pub use token::{InvitationToken, TokenHash};

/// Why a value supplied by a user was refused; `field` names the JSON field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The request field the problem is in.
    pub field: &'static str,
    /// What is wrong, in words a portal can show.
    pub message: String,
}

impl ValidationError {
    /// A validation error for `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
