use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ValidationError;

/// The longest account id accepted from a token claim.
const MAX_ACCOUNT_ID_LEN: usize = 128;

/// An account (tenant) id. It only ever comes from a verified JWT claim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    /// Sorts before every valid account id (for key ranges).
    pub const MIN: &'static AccountId = &AccountId(String::new());

    /// Accepts 1 to 128 characters with no control characters, `#` or whitespace (the id is part of
    /// storage keys and cursors).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_ACCOUNT_ID_LEN
            && !raw
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '#');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::new(
                "account_id",
                "must be 1 to 128 characters without whitespace, control characters or '#'",
            ))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AccountId {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<AccountId> for String {
    fn from(value: AccountId) -> Self {
        value.0
    }
}

/// A delegate id: a UUIDv7, so ids sort by creation time (newest first is a reverse key order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DelegateId(Uuid);

impl DelegateId {
    /// The smallest id (for key ranges).
    pub const MIN: Self = Self(Uuid::nil());
    /// The largest id (for key ranges).
    pub const MAX: Self = Self(Uuid::max());

    /// A new id for a delegate created now.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    /// Parses the hyphenated lowercase form produced by [`fmt::Display`].
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let invalid = || ValidationError::new("id", "must be a delegate id");
        let uuid = Uuid::try_parse(raw).map_err(|_| invalid())?;
        // Only the canonical form, so that one delegate has exactly one id string.
        if uuid.get_version_num() != 7 || uuid.hyphenated().to_string() != raw {
            return Err(invalid());
        }
        Ok(Self(uuid))
    }
}

impl fmt::Display for DelegateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl TryFrom<String> for DelegateId {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DelegateId> for String {
    fn from(value: DelegateId) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delegate_ids_round_trip_and_sort_by_creation() {
        let first = DelegateId::generate();
        let second = DelegateId::generate();
        assert!(first.to_string() < second.to_string());
        assert_eq!(DelegateId::parse(&first.to_string()).unwrap(), first);
    }

    #[test]
    fn delegate_id_refuses_other_forms() {
        let id = DelegateId::generate().to_string();
        assert!(DelegateId::parse(&id.to_uppercase()).is_err());
        assert!(DelegateId::parse(&id.replace('-', "")).is_err());
        assert!(DelegateId::parse("not-an-id").is_err());
        assert!(
            DelegateId::parse("6f1c2f4e-8a1b-4c3d-9e2f-0a1b2c3d4e5f").is_err(),
            "v4 refused"
        );
    }

    #[test]
    fn account_ids_refuse_key_separators_and_blanks() {
        assert!(AccountId::parse("acme-42").is_ok());
        for raw in ["", "a#b", "a b", "a\nb", &"x".repeat(129)] {
            assert!(AccountId::parse(raw).is_err(), "{raw:?}");
        }
    }
}
