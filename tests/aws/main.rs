//! The AWS adapters through the real AWS SDK against moto, and the function binaries run as
//! Lambda runs them. Skipped (with a message) when the test command's moto is not running.

mod failures;
mod functions;
mod items;
mod mailer;

use std::collections::HashMap;
use std::sync::Arc;

use delegates::clock::SystemClock;
use delegates::config::{Config, Env, vars};
use delegates::http::App;
use delegates::mail::SesMailer;
use delegates::store::DynamoStore;
use delegates_tests::aws::{fresh_table, moto_endpoint, sdk_config, verify_sender};

/// Clients on moto, a fresh table and a verified sender.
pub struct Moto {
    pub endpoint: String,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub table: String,
}

impl Moto {
    pub async fn connect() -> Option<Self> {
        let endpoint = moto_endpoint()?;
        let sdk = sdk_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let ses = aws_sdk_sesv2::Client::new(&sdk);
        let table = fresh_table(&dynamodb).await;
        Some(Self {
            endpoint,
            dynamodb,
            ses,
            table,
        })
    }

    /// The local server's configuration (so the events' token verifies) on this table.
    pub fn env(&self) -> HashMap<String, String> {
        let mut env = delegates_local::local_defaults();
        env.insert(vars::TABLE_NAME.into(), self.table.clone());
        env
    }

    /// An in-process app on moto, as the functions build it.
    pub async fn app(&self, env: &HashMap<String, String>) -> App<DynamoStore, SesMailer> {
        let config = Config::from_env(&Env::from_map(env)).unwrap();
        verify_sender(&self.ses, config.sender.address.as_str()).await;
        self.app_unverified(env)
    }

    /// As [`Moto::app`], without verifying the sender.
    pub fn app_unverified(&self, env: &HashMap<String, String>) -> App<DynamoStore, SesMailer> {
        let config = Config::from_env(&Env::from_map(env)).unwrap();
        let store = DynamoStore::new(
            self.dynamodb.clone(),
            &self.table,
            config.expired_invitation_retention,
        );
        let mailer = SesMailer::new(self.ses.clone(), &config.sender, None);
        delegates_local::build_app(config, store, mailer, Arc::new(SystemClock)).unwrap()
    }

    /// Every item in the table.
    pub async fn items(&self) -> Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.dynamodb
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .unwrap()
            .items()
            .to_vec()
    }
}

/// Reads an `events/` file as JSON.
pub fn event(name: &str) -> serde_json::Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Reads an `events/` file as a `lambda_http` request.
pub fn request(event: &serde_json::Value) -> lambda_http::Request {
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// An address no other test (or earlier run on the same moto) uses.
pub fn unique_address(prefix: &str, domain: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos:x}@{domain}")
}

/// The add event with `email` in its body.
pub fn add_event_for(email: &str) -> serde_json::Value {
    let mut add = event("add-delegate.json");
    let body = serde_json::json!({
        "name": "Pat Partner",
        "email": email,
        "notice_acknowledged": true,
        "notice_version": "2026-01"
    });
    add["body"] = serde_json::json!(body.to_string());
    add
}
