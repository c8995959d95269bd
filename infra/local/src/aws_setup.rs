//! Set-up against a DynamoDB and SES endpoint (moto, or a development AWS account): the table
//! from the SAM template's definition (the one source of truth), and the sender identity.

use std::path::Path;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_yaml_ng::Value as Yaml;

/// A set-up step failed; the message says which and why.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(String);

/// The `DelegatesTable` resource's `Properties` in the SAM template at `template`.
pub fn table_properties(template: &Path) -> Result<Yaml, SetupError> {
    let text = std::fs::read_to_string(template)
        .map_err(|e| SetupError(format!("{}: {e}", template.display())))?;
    let template: Yaml = serde_yaml_ng::from_str(&text)
        .map_err(|e| SetupError(format!("template is not YAML: {e}")))?;
    let properties = &template["Resources"]["DelegatesTable"]["Properties"];
    if properties.is_null() {
        return Err(SetupError(
            "the template has no DelegatesTable properties".into(),
        ));
    }
    Ok(properties.clone())
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

/// Creates table `name` from the template's table definition (keys, index, billing, TTL).
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    template: &Path,
) -> Result<(), SetupError> {
    let properties = table_properties(template)?;
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
                        .set_non_key_attributes(
                            index["Projection"]["NonKeyAttributes"]
                                .as_sequence()
                                .map(|names| names.iter().map(|n| text(n).to_owned()).collect()),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        );
    }
    request
        .send()
        .await
        .map_err(|e| SetupError(format!("CreateTable: {}", DisplayErrorContext(&e))))?;
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
        .map_err(|e| SetupError(format!("UpdateTimeToLive: {}", DisplayErrorContext(&e))))?;
    Ok(())
}

/// Creates the SES identity `address` (moto verifies it at once; real SES emails a link).
pub async fn verify_sender(client: &aws_sdk_sesv2::Client, address: &str) {
    if let Err(error) = client
        .create_email_identity()
        .email_identity(address)
        .send()
        .await
    {
        tracing::warn!(%address, error = %aws_sdk_sesv2::error::DisplayErrorContext(&error), "CreateEmailIdentity failed");
    }
}
