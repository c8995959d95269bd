use std::fmt;
use std::str::FromStr;

use email_address::{EmailAddress, Options};
use serde::{Deserialize, Serialize};

use super::ValidationError;

/// The longest address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// A valid email address: trimmed, at most 254 characters, no control characters.
///
/// The address is kept as typed for display; [`Email::identity`] is its case-insensitive identity,
/// so `Bob@Example.com` and `bob@example.com` are the same delegate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// A value read back from storage, where only validated values are written. It is not
    /// validated again, so that a stricter rule introduced later cannot make stored records
    /// unreadable (they stay listable and removable).
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// Validates and normalises `raw`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        let invalid = |message: &str| ValidationError::new("email", message);
        if trimmed.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if trimmed.chars().count() > MAX_EMAIL_LEN {
            return Err(invalid("must be at most 254 characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(invalid("must not contain control characters"));
        }
        let options = Options::default()
            .with_required_tld()
            .without_domain_literal()
            .without_display_text();
        if !trimmed.is_ascii() {
            // Internationalised addresses need SMTPUTF8 end to end; IDN domains can be given in
            // their ASCII (punycode) form. This also keeps invisible and look-alike characters out.
            return Err(invalid(
                "must be an ASCII address (write international domains in their xn-- form)",
            ));
        }
        match EmailAddress::parse_with_options(trimmed, options) {
            // Quoted local parts and comments are valid RFC 5322 but never a real person's
            // mailbox here, and they complicate headers: refuse them. The domain must be a host
            // name that mail can be delivered to.
            Ok(address)
                if !address.local_part().contains(['"', '(', ')', ' ', '\\'])
                    && is_host_name(address.domain()) =>
            {
                Ok(Self(trimmed.to_owned()))
            }
            _ => Err(invalid(
                "must be a valid email address such as name@example.com",
            )),
        }
    }

    /// The address as typed (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive identity of the address, used for uniqueness.
    pub fn identity(&self) -> String {
        self.0.to_lowercase()
    }

    /// Whether two addresses are the same mailbox for this product.
    pub fn same_as(&self, other: &Email) -> bool {
        self.identity() == other.identity()
    }
}

/// A DNS host name: letter-digit-hyphen labels of 1 to 63 characters, not starting or ending
/// with a hyphen, and an alphabetic top-level domain (so no IP addresses).
fn is_host_name(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let tld_ok = labels.last().is_some_and(|tld| {
        tld.len() >= 2 && (tld.bytes().all(|b| b.is_ascii_alphabetic()) || tld.starts_with("xn--"))
    });
    labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Email {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Email {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_keeps_the_address_as_typed() {
        let email = Email::parse("  Bob@Example.com \n").unwrap();
        assert_eq!(email.as_str(), "Bob@Example.com");
        assert_eq!(email.identity(), "bob@example.com");
    }

    #[test]
    fn identity_is_case_insensitive() {
        let a = Email::parse("Bob@Example.com").unwrap();
        let b = Email::parse("bob@EXAMPLE.COM").unwrap();
        assert!(a.same_as(&b));
    }

    #[test]
    fn refuses_invalid_addresses() {
        for raw in [
            "",
            "   ",
            "bob",
            "bob@",
            "@example.com",
            "bob@example",
            "bob@@example.com",
            "Bob <bob@example.com>",
            "bob@[127.0.0.1]",
            "\"bob smith\"@example.com",
            "bob@exa mple.com",
            "p1@b$c.co",
            "p2@b*c.co",
            "a@1.2.3.4",
            "a@b.1",
            "r3\u{200b}@b.co",
            "r4\u{a0}x@b.co",
            "r5@b\u{3000}c.co",
            "r6\u{202e}@b.co",
            "ü@b.co",
            "a@ü.co",
            "a@-b.co",
            "a@b-.co",
            "a@b..co",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn accepts_ordinary_and_punycode_addresses() {
        for raw in [
            "first.last+tag@sub.example.co.uk",
            "o'brien@example.ie",
            "x@xn--bcher-kva.example",
            "a_b-c@x-y.example",
        ] {
            assert!(Email::parse(raw).is_ok(), "{raw:?} was refused");
        }
    }

    #[test]
    fn refuses_control_characters_anywhere() {
        for raw in [
            "bob@example.com\r\nBcc: x@y.com",
            "bo\u{7}b@example.com",
            "bob\u{0}@example.com",
        ] {
            let err = Email::parse(raw).unwrap_err();
            assert_eq!(err.field, "email");
        }
    }

    #[test]
    fn refuses_addresses_longer_than_254_characters() {
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(186));
        assert_eq!(long.len(), 255);
        assert!(Email::parse(&long).is_err());
        let ok = format!("{}@{}.com", "a".repeat(64), "b".repeat(60));
        assert!(Email::parse(&ok).is_ok());
    }
}
