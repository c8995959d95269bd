//! Test support for Delegate Access: an API server spawned in-process on a free port with its own
//! data folder and a clock the test controls, tokens, and readers for the outbox.

pub mod aws;
pub mod contract;
pub mod reminder_cases;
pub mod runtime_api;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use delegates::auth::{TokenClaims, issue_hs256_token};
use delegates::clock::ManualClock;
use delegates::config::{Config, Env, vars};
use delegates::http::App;
use delegates::mail::Outbox;
use delegates::store::MemoryStore;
use delegates_local::{DataDir, Server, local_app, start};
use serde_json::{Value, json};
use tempfile::TempDir;
use time::OffsetDateTime;

/// The notice version the test configuration expects.
pub const NOTICE_VERSION: &str = "2026-01";
/// The portal origin of the test configuration.
pub const PORTAL_ORIGIN: &str = "https://portal.test";

/// The configuration variables of a test app.
pub fn test_env() -> HashMap<String, String> {
    [
        (vars::PORTAL_URL, "https://portal.test"),
        (vars::MAIL_FROM_ADDRESS, "no-reply@delegates.test"),
        (vars::MAIL_FROM_NAME, "Delegate Access: Tests"),
        (vars::JWT_ALGORITHM, "HS256"),
        (
            vars::JWT_SECRET,
            "test-secret-that-is-long-enough-for-hs256",
        ),
        (vars::JWT_ISSUER, "https://issuer.test"),
        (vars::JWT_AUDIENCE, "delegates-api"),
        (vars::NOTICE_VERSION, NOTICE_VERSION),
        (vars::TABLE_NAME, "delegates-test"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The test configuration.
pub fn test_config() -> Config {
    Config::from_env(&Env::from_map(&test_env())).expect("test configuration is valid")
}

/// A signed admin token for `account` in the test configuration.
pub fn admin_token(account: &str) -> String {
    token_with_role(account, "admin")
}

/// A signed token for `account` with `role`.
pub fn token_with_role(account: &str, role: &str) -> String {
    let config = test_config();
    let email = format!("admin@{account}.test");
    let claims = TokenClaims {
        sub: &format!("{account}-admin"),
        email: &email,
        account_id: account,
        role,
    };
    issue_hs256_token(&config.auth, &claims, time::Duration::hours(1)).expect("token")
}

/// A valid add-delegate body.
pub fn new_delegate(name: &str, email: &str) -> Value {
    json!({
        "name": name,
        "email": email,
        "notice_acknowledged": true,
        "notice_version": NOTICE_VERSION,
    })
}

/// The API served on a free port of 127.0.0.1 by the local server's code.
pub struct TestApp {
    /// Base URL.
    pub address: String,
    /// HTTP client.
    pub client: reqwest::Client,
    /// The clock the app uses.
    pub clock: Arc<ManualClock>,
    data: TempDir,
    server: Option<Server>,
}

impl TestApp {
    /// Starts a fresh app with an empty data folder.
    pub async fn spawn() -> Self {
        let data = tempfile::tempdir().expect("temporary data folder");
        let clock = Arc::new(ManualClock::new(
            OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
        ));
        let server = Self::serve(data.path(), &clock).await;
        Self {
            address: server.url(),
            client: reqwest::Client::new(),
            clock,
            data,
            server: Some(server),
        }
    }

    async fn serve(dir: &Path, clock: &Arc<ManualClock>) -> Server {
        let app: App<MemoryStore, Outbox> =
            local_app(test_config(), &DataDir::new(dir), clock.clone()).expect("app");
        start(Arc::new(app), "127.0.0.1:0".parse().unwrap())
            .await
            .expect("server starts")
    }

    /// Stops the server and starts a new one on the same data folder.
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        let server = Self::serve(self.data.path(), &self.clock).await;
        self.address = server.url();
        self.server = Some(server);
    }

    /// `path` on this app.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `POST /delegates` with `body` as `token`.
    pub async fn add_delegate(&self, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url("/delegates"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// `GET /delegates?{query}` as `token`.
    pub async fn list_delegates(&self, token: &str, query: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/delegates?{query}")))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// `DELETE /delegates/{id}` as `token`.
    pub async fn remove_delegate(&self, token: &str, id: &str) -> reqwest::Response {
        self.client
            .delete(self.url(&format!("/delegates/{id}")))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// `POST /invitations/accept` with `invitation_token`.
    pub async fn accept(&self, invitation_token: &str) -> reqwest::Response {
        self.client
            .post(self.url("/invitations/accept"))
            .json(&json!({ "token": invitation_token }))
            .send()
            .await
            .expect("request")
    }

    /// Every message in the outbox, oldest first.
    pub fn sent_emails(&self) -> Vec<SentEmail> {
        read_outbox(&DataDir::new(self.data.path()).outbox())
    }

    /// The invitation token in the newest message to `to`.
    pub fn invitation_token_for(&self, to: &str) -> String {
        let email = self
            .sent_emails()
            .into_iter()
            .rev()
            .find(|email| email.to.eq_ignore_ascii_case(to))
            .unwrap_or_else(|| panic!("no email to {to}"));
        email
            .invitation_token()
            .expect("the email has an accept link")
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }
}

/// A message read back from the outbox.
#[derive(Debug, Clone)]
pub struct SentEmail {
    /// The raw From header.
    pub from: String,
    /// The recipient address.
    pub to: String,
    /// Decoded subject.
    pub subject: String,
    /// Decoded plain-text body.
    pub text: String,
    /// Decoded HTML body.
    pub html: String,
}

impl SentEmail {
    /// The token of the accept link in the text body.
    pub fn invitation_token(&self) -> Option<String> {
        invitation_token_in(&self.text)
    }
}

/// The token of the first `/delegation/accept?token=` link in `body`.
pub fn invitation_token_in(body: &str) -> Option<String> {
    let start = body.find("/delegation/accept?token=")? + "/delegation/accept?token=".len();
    let token: String = body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect();
    Some(token)
}

/// Parses every `.eml` file in `dir`, oldest first (file names are UUIDv7s).
pub fn read_outbox(dir: &Path) -> Vec<SentEmail> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let raw = std::fs::read(path).expect("readable .eml");
            let message = mail_parser::MessageParser::default()
                .parse(&raw)
                .expect("a parsable RFC 5322 message");
            let header = |name: &str| {
                message
                    .header_raw(name)
                    .map(|v| v.trim().to_owned())
                    .unwrap_or_default()
            };
            SentEmail {
                from: header("From"),
                to: message
                    .to()
                    .and_then(|to| to.first())
                    .and_then(|a| a.address())
                    .unwrap_or_default()
                    .to_owned(),
                subject: message.subject().unwrap_or_default().to_owned(),
                text: message.body_text(0).unwrap_or_default().into_owned(),
                html: message.body_html(0).unwrap_or_default().into_owned(),
            }
        })
        .collect()
}

/// Asserts that `response` is an RFC 9457 problem with `status`, and returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("a JSON problem body");
    assert_eq!(body["status"], status);
    for member in ["type", "title", "detail"] {
        assert!(body[member].is_string(), "problem without {member}: {body}");
    }
    body
}

/// The `field`s named in a validation problem's `errors`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
