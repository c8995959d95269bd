//! The moto server the test command starts: SDK clients pointed at it through the standard
//! `AWS_ENDPOINT_URL`, the table created from `template.yaml`, and sent mail read back.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_json::Value;
use serde_yaml_ng::Value as Yaml;

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

/// SDK configuration from the environment (moto's endpoint, test credentials).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// The `DelegatesTable` resource's `Properties` in `template.yaml`.
pub fn table_properties() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml");
    let template: Yaml = serde_yaml_ng::from_str(&text).expect("template.yaml is YAML");
    template["Resources"]["DelegatesTable"]["Properties"].clone()
}

fn text(value: &Yaml) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value:?}"))
}

fn key_schema(value: &Yaml) -> Vec<KeySchemaElement> {
    value
        .as_sequence()
        .expect("KeySchema")
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(text(&k["AttributeName"]))
                .key_type(KeyType::from(text(&k["KeyType"])))
                .build()
                .unwrap()
        })
        .collect()
}

/// Creates `name` from the template's table definition (keys, index, billing, TTL).
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    let properties = table_properties();
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(text(&properties["BillingMode"])))
        .set_key_schema(Some(key_schema(&properties["KeySchema"])));
    for attribute in properties["AttributeDefinitions"].as_sequence().unwrap() {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(&attribute["AttributeName"]))
                .attribute_type(ScalarAttributeType::from(text(&attribute["AttributeType"])))
                .build()
                .unwrap(),
        );
    }
    for index in properties["GlobalSecondaryIndexes"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(text(&index["IndexName"]))
                .set_key_schema(Some(key_schema(&index["KeySchema"])))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(text(
                            &index["Projection"]["ProjectionType"],
                        )))
                        .build(),
                )
                .build()
                .unwrap(),
        );
    }
    request.send().await.expect("CreateTable on moto");
    let ttl = &properties["TimeToLiveSpecification"];
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(text(&ttl["AttributeName"]))
                .enabled(ttl["Enabled"].as_bool().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("UpdateTimeToLive on moto");
}

/// A fresh table with a unique name.
pub async fn fresh_table(client: &aws_sdk_dynamodb::Client) -> String {
    let name = format!("delegates-{}", uuid_like());
    create_table(client, &name).await;
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

/// Makes `address` a verified SES identity on moto.
pub async fn verify_sender(client: &aws_sdk_sesv2::Client, address: &str) {
    client
        .create_email_identity()
        .email_identity(address)
        .send()
        .await
        .expect("CreateEmailIdentity on moto");
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
