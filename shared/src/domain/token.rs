use std::fmt;

use aws_lc_rs::{digest, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::{AccountId, DelegateId, ValidationError};

/// Bytes of randomness in an invitation secret.
const SECRET_LEN: usize = 32;
/// The longest token string worth parsing (account id, delegate id and secret, encoded).
const MAX_TOKEN_LEN: usize = 512;

/// A single-use invitation token as it appears in the email link:
/// `base64url(account id) "." delegate id "." base64url(32 random bytes)`.
///
/// The token names its own invitation, so accepting it is one conditional write on a known key;
/// the random part is the credential. Only [`TokenHash`] is ever stored, and the token's `Debug`
/// output is redacted so that it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct InvitationToken {
    account_id: AccountId,
    delegate_id: DelegateId,
    encoded: String,
}

impl InvitationToken {
    /// A fresh token for the given invitation, with a secret from the operating system's CSPRNG.
    pub fn generate(account_id: &AccountId, delegate_id: DelegateId) -> Self {
        let mut secret = [0u8; SECRET_LEN];
        rand::fill(&mut secret).expect("the operating system's random number generator failed");
        let encoded = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(account_id.as_str()),
            delegate_id,
            URL_SAFE_NO_PAD.encode(secret)
        );
        Self {
            account_id: account_id.clone(),
            delegate_id,
            encoded,
        }
    }

    /// Parses a token received from a delegate. A malformed token is a validation error (400);
    /// whether it is known, unused and unexpired is for the store to say.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let invalid = || ValidationError::new("token", "is not a valid invitation token");
        if raw.len() > MAX_TOKEN_LEN {
            return Err(invalid());
        }
        let mut parts = raw.split('.');
        let (Some(account), Some(delegate), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let account = URL_SAFE_NO_PAD.decode(account).map_err(|_| invalid())?;
        let account = String::from_utf8(account).map_err(|_| invalid())?;
        let account_id = AccountId::parse(&account).map_err(|_| invalid())?;
        let delegate_id = DelegateId::parse(delegate).map_err(|_| invalid())?;
        let secret = URL_SAFE_NO_PAD.decode(secret).map_err(|_| invalid())?;
        if secret.len() != SECRET_LEN {
            return Err(invalid());
        }
        Ok(Self {
            account_id,
            delegate_id,
            encoded: raw.to_owned(),
        })
    }

    /// The account the invitation belongs to.
    pub fn account_id(&self) -> &AccountId {
        &self.account_id
    }

    /// The invited delegate.
    pub fn delegate_id(&self) -> DelegateId {
        self.delegate_id
    }

    /// The token as it goes into the link. Handle with care: this is a credential.
    pub fn expose(&self) -> &str {
        &self.encoded
    }

    /// The SHA-256 of the token, the only form that is stored.
    pub fn hash(&self) -> TokenHash {
        let digest = digest::digest(&digest::SHA256, self.encoded.as_bytes());
        TokenHash(URL_SAFE_NO_PAD.encode(digest.as_ref()))
    }
}

impl fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvitationToken")
            .field("account_id", &self.account_id)
            .field("delegate_id", &self.delegate_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The SHA-256 of an invitation token, base64url-encoded: what storage keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    /// The encoded hash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a hash read back from storage.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> AccountId {
        AccountId::parse("acme").unwrap()
    }

    #[test]
    fn a_generated_token_parses_back_to_its_invitation() {
        let id = DelegateId::generate();
        let token = InvitationToken::generate(&account(), id);
        let parsed = InvitationToken::parse(token.expose()).unwrap();
        assert_eq!(parsed.account_id(), &account());
        assert_eq!(parsed.delegate_id(), id);
        assert_eq!(parsed.hash(), token.hash());
    }

    #[test]
    fn tokens_are_url_safe_and_random() {
        let id = DelegateId::generate();
        let a = InvitationToken::generate(&account(), id);
        let b = InvitationToken::generate(&account(), id);
        assert_ne!(a.expose(), b.expose());
        assert_ne!(a.hash(), b.hash());
        assert!(
            a.expose()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
    }

    #[test]
    fn the_hash_is_sha256_of_the_token_and_not_the_token() {
        let token = InvitationToken::generate(&account(), DelegateId::generate());
        let hash = token.hash();
        assert_eq!(URL_SAFE_NO_PAD.decode(hash.as_str()).unwrap().len(), 32);
        assert!(!hash.as_str().contains(token.expose()));
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let token = InvitationToken::generate(&account(), DelegateId::generate());
        let secret = token.expose().rsplit('.').next().unwrap().to_owned();
        assert!(!format!("{token:?}").contains(&secret));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = InvitationToken::generate(&account(), DelegateId::generate());
        let good = good.expose();
        let (head, secret) = good.rsplit_once('.').unwrap();
        for raw in [
            String::new(),
            "abc".to_owned(),
            format!("{good}.extra"),
            format!("{head}.{}", &secret[..secret.len() - 2]),
            format!("{head}.{secret}!"),
            format!("!!.{}", good.split_once('.').unwrap().1),
            "x".repeat(600),
        ] {
            assert!(InvitationToken::parse(&raw).is_err(), "{raw:?}");
        }
    }
}
