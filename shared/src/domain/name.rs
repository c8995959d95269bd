use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::ValidationError;

/// The longest name accepted, in characters after NFC normalisation.
pub const MAX_NAME_CHARS: usize = 100;

/// A delegate's display name: trimmed, NFC-normalised, 1 to 100 characters, no control characters
/// (names end up in email headers, so CR and LF can never be part of one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DelegateName(String);

impl DelegateName {
    /// A value read back from storage, where only validated values are written. It is not
    /// validated again, so that a stricter rule introduced later cannot make stored records
    /// unreadable (they stay listable and removable).
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// Validates and normalises `raw`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let normalised: String = raw.trim().nfc().collect();
        let invalid = |message: &str| ValidationError::new("name", message);
        if normalised.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if normalised.chars().count() > MAX_NAME_CHARS {
            return Err(invalid("must be at most 100 characters"));
        }
        if normalised
            .chars()
            .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
        {
            return Err(invalid(
                "must not contain control characters or line breaks",
            ));
        }
        Ok(Self(normalised))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DelegateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DelegateName {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DelegateName> for String {
    fn from(value: DelegateName) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_normalises_to_nfc() {
        let decomposed = "  Rene\u{301} Dupont ";
        let name = DelegateName::parse(decomposed).unwrap();
        assert_eq!(name.as_str(), "Ren\u{e9} Dupont");
    }

    #[test]
    fn counts_characters_after_normalisation() {
        let hundred_decomposed = "e\u{301}".repeat(100);
        assert!(DelegateName::parse(&hundred_decomposed).is_ok());
        assert!(DelegateName::parse(&"é".repeat(101)).is_err());
    }

    #[test]
    fn refuses_empty_and_control_characters() {
        for raw in [
            "",
            "   ",
            "Bob\r\nBcc: evil@example.com",
            "Bob\nSmith",
            "Tab\there",
            "Nul\u{0}",
            "Line\u{2028}sep",
        ] {
            let err = DelegateName::parse(raw).unwrap_err();
            assert_eq!(err.field, "name", "{raw:?}");
        }
    }

    #[test]
    fn keeps_html_as_text() {
        let name = DelegateName::parse("<b>Eve</b> & co").unwrap();
        assert_eq!(name.as_str(), "<b>Eve</b> & co");
    }
}
