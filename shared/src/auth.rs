//! Admin authorization: a verified JWT whose role claims contain the admin role. The account is
//! taken from the token alone.

use std::collections::HashMap;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use lambda_http::http::HeaderMap;
use lambda_http::http::header::AUTHORIZATION;
use serde_json::{Map, Value};

use crate::config::{AuthConfig, ConfigError, KeySource, vars};
use crate::domain::{AccountId, Email};

/// Tokens longer than this are refused before any parsing.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// A verified administrator of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// The admin's `sub`.
    pub sub: String,
    /// The admin's email claim.
    pub email: Email,
    /// The account the admin administers: the tenant of every request they make.
    pub account_id: AccountId,
}

/// Why a request is not an admin's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No usable credentials: 401. The reason is for logs only.
    #[error("not authenticated: {0}")]
    Unauthenticated(&'static str),
    /// A valid token without the admin role: 403.
    #[error("the token does not carry the admin role")]
    Forbidden,
}

/// Verifies bearer tokens with keys parsed once at start-up.
pub struct Authenticator {
    config: AuthConfig,
    validation: Validation,
    keys: Keys,
}

enum Keys {
    Single(DecodingKey),
    ById(HashMap<String, DecodingKey>),
}

impl Authenticator {
    /// Parses the keys and builds the validation rules.
    pub fn new(config: AuthConfig) -> Result<Self, ConfigError> {
        let keys = match &config.keys {
            KeySource::Secret(secret) => {
                Keys::Single(DecodingKey::from_secret(secret).map_err(|e| {
                    ConfigError::Invalid {
                        name: vars::JWT_SECRET,
                        reason: e.to_string(),
                    }
                })?)
            }
            KeySource::Jwks(json) => Keys::ById(parse_jwks(json, config.algorithm)?),
        };
        let mut validation = Validation::new(config.algorithm);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = config.leeway_seconds.min(30);
        validation.validate_nbf = true;
        Ok(Self {
            config,
            validation,
            keys,
        })
    }

    /// Authenticates the request's `Authorization: Bearer` header as an admin.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Admin, AuthError> {
        let mut values = headers.get_all(AUTHORIZATION).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(AuthError::Unauthenticated(
                "expected exactly one Authorization header",
            ));
        };
        let value = value
            .to_str()
            .map_err(|_| AuthError::Unauthenticated("Authorization header is not ASCII"))?;
        let token = value
            .strip_prefix("Bearer ")
            .ok_or(AuthError::Unauthenticated(
                "Authorization scheme is not Bearer",
            ))?;
        self.verify(token)
    }

    /// Verifies a bare token.
    pub fn verify(&self, token: &str) -> Result<Admin, AuthError> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Unauthenticated("token is empty or too long"));
        }
        let key = match &self.keys {
            Keys::Single(key) => key,
            Keys::ById(keys) => {
                let header = jsonwebtoken::decode_header(token)
                    .map_err(|_| AuthError::Unauthenticated("malformed token header"))?;
                match header.kid {
                    Some(kid) => keys
                        .get(&kid)
                        .ok_or(AuthError::Unauthenticated("unknown key id"))?,
                    None if keys.len() == 1 => keys.values().next().expect("one key"),
                    None => return Err(AuthError::Unauthenticated("token has no key id")),
                }
            }
        };
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, key, &self.validation)
            .map_err(|_| AuthError::Unauthenticated("token failed verification"))?
            .claims;
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let sub = text("sub").ok_or(AuthError::Unauthenticated("sub claim missing"))?;
        let account = text(&self.config.account_claim)
            .ok_or(AuthError::Unauthenticated("account claim missing"))?;
        let account_id = AccountId::parse(account)
            .map_err(|_| AuthError::Unauthenticated("account claim is not a valid account id"))?;
        let email = text("email")
            .and_then(|email| Email::parse(email).ok())
            .ok_or(AuthError::Unauthenticated("email claim missing or invalid"))?;
        if !self.has_admin_role(&claims) {
            return Err(AuthError::Forbidden);
        }
        Ok(Admin {
            sub: sub.to_owned(),
            email,
            account_id,
        })
    }

    fn has_admin_role(&self, claims: &Map<String, Value>) -> bool {
        let admin = self.config.admin_role.as_str();
        self.config
            .role_claims
            .iter()
            .filter_map(|name| claims.get(name))
            .any(|value| match value {
                Value::String(role) => role == admin,
                Value::Array(roles) => roles.iter().any(|role| role.as_str() == Some(admin)),
                _ => false,
            })
    }
}

/// Parses a JWKS document into keys by `kid`, keeping only keys usable with `algorithm`.
fn parse_jwks(
    json: &str,
    algorithm: jsonwebtoken::Algorithm,
) -> Result<HashMap<String, DecodingKey>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: vars::JWT_JWKS,
        reason,
    };
    let set: JwkSet =
        serde_json::from_str(json).map_err(|e| invalid(format!("not a JWKS document: {e}")))?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let declared = jwk.common.key_algorithm.map(|alg| alg.to_string());
        if declared.is_some_and(|alg| alg != format!("{algorithm:?}")) {
            continue;
        }
        let kid = jwk.common.key_id.clone().unwrap_or_default();
        let key = DecodingKey::from_jwk(jwk).map_err(|e| invalid(format!("key {kid:?}: {e}")))?;
        keys.insert(kid, key);
    }
    if keys.is_empty() {
        return Err(invalid(format!("no key usable with {algorithm:?}")));
    }
    Ok(keys)
}

/// Signs HS256 admin tokens with the configured shared secret, for the local server's `token`
/// command and for tests. Never used by the Lambda functions.
#[cfg(feature = "local")]
pub fn issue_hs256_token(
    config: &AuthConfig,
    claims: &TokenClaims<'_>,
    lifetime: time::Duration,
) -> Result<String, ConfigError> {
    let KeySource::Secret(secret) = &config.keys else {
        return Err(ConfigError::Invalid {
            name: vars::JWT_ALGORITHM,
            reason: "tokens can only be issued locally with HS256".into(),
        });
    };
    let key = jsonwebtoken::EncodingKey::from_secret(secret).map_err(|e| ConfigError::Invalid {
        name: vars::JWT_SECRET,
        reason: e.to_string(),
    })?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut payload = Map::new();
    payload.insert("iss".into(), Value::from(config.issuer.as_str()));
    payload.insert("aud".into(), Value::from(config.audience.as_str()));
    payload.insert("sub".into(), Value::from(claims.sub));
    payload.insert("email".into(), Value::from(claims.email));
    payload.insert(config.account_claim.clone(), Value::from(claims.account_id));
    payload.insert(config.role_claims[0].clone(), Value::from(claims.role));
    payload.insert("iat".into(), Value::from(now));
    payload.insert("exp".into(), Value::from(now + lifetime.whole_seconds()));
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    jsonwebtoken::encode(&header, &payload, &key).map_err(|e| ConfigError::Invalid {
        name: vars::JWT_SECRET,
        reason: e.to_string(),
    })
}

/// The claims of a locally issued token.
#[cfg(feature = "local")]
#[derive(Debug, Clone, Copy)]
pub struct TokenClaims<'a> {
    /// `sub`.
    pub sub: &'a str,
    /// `email`.
    pub email: &'a str,
    /// The account claim.
    pub account_id: &'a str,
    /// The role (written to the first configured role claim).
    pub role: &'a str,
}
