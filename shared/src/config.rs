//! Configuration, read once at start-up from environment variables. The Lambdas, the local server
//! and the SAM template use the same names (the README lists them).

use std::collections::HashMap;

use jsonwebtoken::Algorithm;
use time::Duration;

use crate::domain::{Email, ValidationError};

/// Environment variable names.
pub mod vars {
    /// DynamoDB table name.
    pub const TABLE_NAME: &str = "DELEGATES_TABLE";
    /// Base URL of the portal, for links in emails (`{PORTAL_URL}/delegation/accept?token=`).
    pub const PORTAL_URL: &str = "PORTAL_URL";
    /// Origin allowed by CORS (defaults to the origin of `PORTAL_URL`).
    pub const PORTAL_ORIGIN: &str = "PORTAL_ORIGIN";
    /// Sender address of every email.
    pub const MAIL_FROM_ADDRESS: &str = "MAIL_FROM_ADDRESS";
    /// Sender display name.
    pub const MAIL_FROM_NAME: &str = "MAIL_FROM_NAME";
    /// Optional SES configuration set.
    pub const SES_CONFIGURATION_SET: &str = "SES_CONFIGURATION_SET";
    /// `HS256`, `RS256` or `ES256`.
    pub const JWT_ALGORITHM: &str = "JWT_ALGORITHM";
    /// Shared secret for HS256.
    pub const JWT_SECRET: &str = "JWT_SECRET";
    /// JWKS document (JSON) for RS256/ES256.
    pub const JWT_JWKS: &str = "JWT_JWKS";
    /// Required `iss`.
    pub const JWT_ISSUER: &str = "JWT_ISSUER";
    /// Required `aud`.
    pub const JWT_AUDIENCE: &str = "JWT_AUDIENCE";
    /// Claim holding the account id (default `account_id`).
    pub const JWT_ACCOUNT_CLAIM: &str = "JWT_ACCOUNT_CLAIM";
    /// Comma-separated claims that may hold roles (default `role,roles,cognito:groups`).
    pub const JWT_ROLE_CLAIMS: &str = "JWT_ROLE_CLAIMS";
    /// The role that makes an administrator (default `admin`).
    pub const JWT_ADMIN_ROLE: &str = "JWT_ADMIN_ROLE";
    /// Clock leeway for `exp`/`nbf` in seconds, 0 to 30 (default 30).
    pub const JWT_LEEWAY_SECONDS: &str = "JWT_LEEWAY_SECONDS";
    /// Invitation lifetime in hours (default 168, 7 days).
    pub const INVITATION_LIFETIME_HOURS: &str = "INVITATION_LIFETIME_HOURS";
    /// Invitations an account may send per UTC day (default 50).
    pub const INVITATIONS_PER_DAY: &str = "INVITATIONS_PER_DAY";
    /// Days an expired, never-accepted invitation stays listed before TTL removes it (default 30).
    pub const EXPIRED_INVITATION_RETENTION_DAYS: &str = "EXPIRED_INVITATION_RETENTION_DAYS";
    /// Version of the access notice admins must acknowledge.
    pub const NOTICE_VERSION: &str = "NOTICE_VERSION";
    /// Text of the access notice (a sensible default is built in).
    pub const NOTICE_TEXT: &str = "NOTICE_TEXT";
}

/// The access notice shown when no `NOTICE_TEXT` is configured.
pub const DEFAULT_NOTICE_TEXT: &str = "Delegate users are people outside your team, such as IT partners or \
service providers, to whom you grant limited administrative access. A delegate can see your account's data, \
including customer information and possibly protected health information. Everything a delegate does in \
the account is done on your behalf and counts as your own action. Only invite people you trust, and remove \
them as soon as they no longer need access.";

/// A configuration variable that is missing or unusable; start-up stops with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

/// How admin JWTs are verified.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The one algorithm accepted.
    pub algorithm: Algorithm,
    /// Key material: a shared secret or a JWKS document.
    pub keys: KeySource,
    /// Required issuer.
    pub issuer: String,
    /// Required audience.
    pub audience: String,
    /// Claim with the account id.
    pub account_claim: String,
    /// Claims that may carry roles.
    pub role_claims: Vec<String>,
    /// The admin role.
    pub admin_role: String,
    /// Leeway in seconds (at most 30).
    pub leeway_seconds: u64,
}

/// Where verification keys come from.
#[derive(Clone)]
pub enum KeySource {
    /// HS256 shared secret.
    Secret(Vec<u8>),
    /// A JWKS document (JSON text).
    Jwks(String),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret(<redacted>)"),
            Self::Jwks(_) => f.write_str("Jwks(..)"),
        }
    }
}

/// The access notice admins acknowledge before adding a delegate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Current version.
    pub version: String,
    /// Full text.
    pub text: String,
}

/// The sender of every email.
#[derive(Debug, Clone)]
pub struct Sender {
    /// Address (a verified SES identity in AWS).
    pub address: Email,
    /// Display name; may contain any printable characters, it is encoded for the header.
    pub name: String,
}

/// Everything the handlers need to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// Portal base URL without trailing slash.
    pub portal_url: String,
    /// CORS origin.
    pub portal_origin: String,
    /// JWT verification.
    pub auth: AuthConfig,
    /// The access notice.
    pub notice: Notice,
    /// How long invitation links work.
    pub invitation_lifetime: Duration,
    /// How many invitations an account may send per UTC day.
    pub invitations_per_day: u32,
    /// How long an expired invitation stays listed before TTL removes it.
    pub expired_invitation_retention: Duration,
    /// Email sender.
    pub sender: Sender,
}

/// Looks a variable up by name.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Reads variables from a source (the process environment, or a map in tests).
pub struct Env<'a> {
    lookup: Lookup<'a>,
}

impl<'a> Env<'a> {
    /// The process environment.
    pub fn process() -> Self {
        Self {
            lookup: Box::new(|name| std::env::var(name).ok()),
        }
    }

    /// The process environment, falling back to `defaults` for variables it does not set.
    pub fn process_with_defaults(defaults: &'a HashMap<String, String>) -> Self {
        Self {
            lookup: Box::new(move |name| {
                std::env::var(name)
                    .ok()
                    .filter(|value| !value.trim().is_empty())
                    .or_else(|| defaults.get(name).cloned())
            }),
        }
    }

    /// A fixed map (tests).
    pub fn from_map(map: &'a HashMap<String, String>) -> Self {
        Self {
            lookup: Box::new(move |name| map.get(name).cloned()),
        }
    }

    /// The value of `name`, if set and not blank.
    pub fn optional(&self, name: &'static str) -> Option<String> {
        (self.lookup)(name).filter(|value| !value.trim().is_empty())
    }

    /// The value of `name`, or an error naming it.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    /// The value of `name` parsed as a number in `range`, or `default` when unset.
    pub fn number(
        &self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        let Some(raw) = self.optional(name) else {
            return Ok(default);
        };
        let invalid = || ConfigError::Invalid {
            name,
            reason: format!(
                "expected a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        };
        let value: u64 = raw.trim().parse().map_err(|_| invalid())?;
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(invalid())
        }
    }
}

impl Config {
    /// Reads and checks the whole configuration.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let portal_url = parse_base_url(vars::PORTAL_URL, &env.required(vars::PORTAL_URL)?)?;
        let portal_origin = match env.optional(vars::PORTAL_ORIGIN) {
            Some(origin) => parse_origin(vars::PORTAL_ORIGIN, &origin)?,
            None => origin_of(&portal_url),
        };
        let sender_address = Email::parse(&env.required(vars::MAIL_FROM_ADDRESS)?).map_err(
            |e: ValidationError| ConfigError::Invalid {
                name: vars::MAIL_FROM_ADDRESS,
                reason: e.message,
            },
        )?;
        let sender_name = env
            .optional(vars::MAIL_FROM_NAME)
            .unwrap_or_else(|| "Delegate Access".to_owned());
        if sender_name.chars().any(char::is_control) {
            return Err(ConfigError::Invalid {
                name: vars::MAIL_FROM_NAME,
                reason: "must not contain control characters".into(),
            });
        }
        let lifetime_hours = env.number(vars::INVITATION_LIFETIME_HOURS, 168, 1..=24 * 90)?;
        let invitations_per_day = env.number(vars::INVITATIONS_PER_DAY, 50, 1..=10_000)?;
        let retention_days = env.number(vars::EXPIRED_INVITATION_RETENTION_DAYS, 30, 1..=365)?;
        Ok(Self {
            portal_url,
            portal_origin,
            auth: AuthConfig::from_env(env)?,
            notice: Notice {
                version: env.required(vars::NOTICE_VERSION)?,
                text: env
                    .optional(vars::NOTICE_TEXT)
                    .unwrap_or_else(|| DEFAULT_NOTICE_TEXT.to_owned()),
            },
            invitation_lifetime: Duration::hours(lifetime_hours as i64),
            invitations_per_day: invitations_per_day as u32,
            expired_invitation_retention: Duration::days(retention_days as i64),
            sender: Sender {
                address: sender_address,
                name: sender_name,
            },
        })
    }

    /// The link a delegate follows to accept an invitation.
    pub fn accept_link(&self, token: &str) -> String {
        format!("{}/delegation/accept?token={token}", self.portal_url)
    }

    /// The portal page where admins manage delegates.
    pub fn delegation_page(&self) -> String {
        format!("{}/delegation", self.portal_url)
    }
}

impl AuthConfig {
    /// Reads the JWT settings.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let algorithm = match env.required(vars::JWT_ALGORITHM)?.as_str() {
            "HS256" => Algorithm::HS256,
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            other => {
                return Err(ConfigError::Invalid {
                    name: vars::JWT_ALGORITHM,
                    reason: format!("{other:?} is not one of HS256, RS256, ES256"),
                });
            }
        };
        let keys = if algorithm == Algorithm::HS256 {
            let secret = env.required(vars::JWT_SECRET)?;
            if secret.len() < 32 {
                return Err(ConfigError::Invalid {
                    name: vars::JWT_SECRET,
                    reason: "must be at least 32 bytes".into(),
                });
            }
            KeySource::Secret(secret.into_bytes())
        } else {
            KeySource::Jwks(env.required(vars::JWT_JWKS)?)
        };
        let role_claims: Vec<String> = env
            .optional(vars::JWT_ROLE_CLAIMS)
            .unwrap_or_else(|| "role,roles,cognito:groups".to_owned())
            .split(',')
            .map(|claim| claim.trim().to_owned())
            .filter(|claim| !claim.is_empty())
            .collect();
        if role_claims.is_empty() {
            return Err(ConfigError::Invalid {
                name: vars::JWT_ROLE_CLAIMS,
                reason: "must name at least one claim".into(),
            });
        }
        Ok(Self {
            algorithm,
            keys,
            issuer: env.required(vars::JWT_ISSUER)?,
            audience: env.required(vars::JWT_AUDIENCE)?,
            account_claim: env
                .optional(vars::JWT_ACCOUNT_CLAIM)
                .unwrap_or_else(|| "account_id".to_owned()),
            role_claims,
            admin_role: env
                .optional(vars::JWT_ADMIN_ROLE)
                .unwrap_or_else(|| "admin".to_owned()),
            leeway_seconds: env.number(vars::JWT_LEEWAY_SECONDS, 30, 0..=30)?,
        })
    }
}

/// Checks an `http(s)://host[:port][/path]` URL and drops a trailing slash.
fn parse_base_url(name: &'static str, raw: &str) -> Result<String, ConfigError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    let valid = rest.is_some_and(|rest| {
        let host = rest.split('/').next().unwrap_or_default();
        !host.is_empty()
            && !rest.contains(['?', '#'])
            && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
    });
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err(ConfigError::Invalid {
            name,
            reason: "expected an http(s) URL such as https://portal.example.com".into(),
        })
    }
}

/// Checks a bare origin such as `https://portal.example.com`.
fn parse_origin(name: &'static str, raw: &str) -> Result<String, ConfigError> {
    let url = parse_base_url(name, raw)?;
    if url != origin_of(&url) {
        return Err(ConfigError::Invalid {
            name,
            reason: "expected an origin (scheme and host, no path)".into(),
        });
    }
    Ok(url)
}

/// The origin (scheme and authority) of a URL checked by [`parse_base_url`].
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split('/').next().unwrap_or_default();
    format!("{scheme}://{authority}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> HashMap<String, String> {
        [
            (vars::PORTAL_URL, "https://portal.example.com/app/"),
            (vars::MAIL_FROM_ADDRESS, "no-reply@example.com"),
            (vars::JWT_ALGORITHM, "HS256"),
            (vars::JWT_SECRET, "0123456789abcdef0123456789abcdef"),
            (vars::JWT_ISSUER, "https://issuer.example.com"),
            (vars::JWT_AUDIENCE, "delegates-api"),
            (vars::NOTICE_VERSION, "2026-01"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn reads_a_complete_configuration_with_defaults() {
        let map = base();
        let config = Config::from_env(&Env::from_map(&map)).unwrap();
        assert_eq!(config.portal_url, "https://portal.example.com/app");
        assert_eq!(config.portal_origin, "https://portal.example.com");
        assert_eq!(config.invitation_lifetime, Duration::days(7));
        assert_eq!(config.invitations_per_day, 50);
        assert_eq!(config.expired_invitation_retention, Duration::days(30));
        assert_eq!(config.auth.account_claim, "account_id");
        assert_eq!(config.auth.role_claims, ["role", "roles", "cognito:groups"]);
        assert_eq!(config.auth.leeway_seconds, 30);
        assert_eq!(
            config.accept_link("abc"),
            "https://portal.example.com/app/delegation/accept?token=abc"
        );
    }

    #[test]
    fn a_missing_variable_is_named() {
        for name in [
            vars::PORTAL_URL,
            vars::JWT_ISSUER,
            vars::NOTICE_VERSION,
            vars::JWT_SECRET,
        ] {
            let mut map = base();
            map.remove(name);
            let err = Config::from_env(&Env::from_map(&map)).unwrap_err();
            assert_eq!(err, ConfigError::Missing(name));
            assert!(err.to_string().contains(name));
        }
    }

    #[test]
    fn bad_values_are_named() {
        for (name, value) in [
            (vars::JWT_ALGORITHM, "none"),
            (vars::JWT_LEEWAY_SECONDS, "31"),
            (vars::INVITATION_LIFETIME_HOURS, "0"),
            (vars::INVITATIONS_PER_DAY, "many"),
            (vars::PORTAL_URL, "ftp://x"),
            (vars::PORTAL_ORIGIN, "https://portal.example.com/path"),
            (vars::JWT_SECRET, "short"),
            (vars::MAIL_FROM_ADDRESS, "nobody"),
        ] {
            let mut map = base();
            map.insert(name.to_owned(), value.to_owned());
            match Config::from_env(&Env::from_map(&map)) {
                Err(ConfigError::Invalid { name: named, .. }) => assert_eq!(named, name),
                other => panic!("{name}={value}: {other:?}"),
            }
        }
    }
}
