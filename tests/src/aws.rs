//! The moto server the test command starts: SDK clients pointed at it through the standard
//! `AWS_ENDPOINT_URL`, the table created from `template.yaml`, and sent mail read back.

use std::path::PathBuf;

use aws_config::BehaviorVersion;
pub use delegates_local::aws_setup::{create_table, table_properties, verify_sender};
use serde_json::Value;

/// The repository's `template.yaml`.
pub fn template_path() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
}

/// The moto endpoint, or `None` (the test is skipped) when the test command did not start one.
/// With `DELEGATES_REQUIRE_MOTO` set, a missing endpoint fails the test instead.
pub fn moto_endpoint() -> Option<String> {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("DELEGATES_REQUIRE_MOTO").is_some() => {
            panic!("DELEGATES_REQUIRE_MOTO is set but AWS_ENDPOINT_URL is not")
        }
        _ => {
            eprintln!("skipped: AWS_ENDPOINT_URL is not set (run infra/scripts/test.sh)");
            None
        }
    }
}

/// Adds this process's AWS variables (moto's endpoint, test credentials) to a function's
/// environment, so a function binary talks to the same moto.
pub fn with_aws_variables(env: &mut std::collections::HashMap<String, String>) {
    for name in [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        if let Ok(value) = std::env::var(name) {
            env.insert(name.into(), value);
        }
    }
    env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
}

/// SDK configuration from the environment (moto's endpoint, test credentials).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// A fresh table with a unique name.
pub async fn fresh_table(client: &aws_sdk_dynamodb::Client) -> String {
    let name = format!("delegates-{}", uuid_like());
    create_table(client, &name, &template_path())
        .await
        .expect("CreateTable on moto");
    name
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{nanos:x}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A message moto's SES recorded.
#[derive(Debug, Clone)]
pub struct MotoMessage {
    /// The raw From value.
    pub source: String,
    /// To addresses.
    pub to: Vec<String>,
    /// Subject.
    pub subject: String,
    /// The one body moto keeps (the HTML one when present).
    pub body: String,
}

/// Every message moto's SES has recorded so far.
pub async fn sent_messages(endpoint: &str) -> Vec<MotoMessage> {
    let data: Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .expect("moto data")
        .json()
        .await
        .expect("moto data is JSON");
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|message| MotoMessage {
            source: message["source"].as_str().unwrap_or_default().to_owned(),
            to: message["destinations"]["ToAddresses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect(),
            subject: message["subject"].as_str().unwrap_or_default().to_owned(),
            body: message["body"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}
