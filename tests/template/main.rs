//! `template.yaml` against the code: one function resource per crate in `functions/` and back,
//! binaries that exist, the default workspace members the SAM build selects, the environment
//! the configuration loader needs, and the table the stores and the tests use.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use delegates::config::{Config, Env, vars};
use delegates::reminder::{self, ReminderSettings};
use delegates::store::{
    PARTITION_KEY, REMINDER_INDEX, REMINDER_SHARD_ATTRIBUTE, SORT_KEY, TTL_ATTRIBUTE,
};
use delegates_tests::aws::{
    fresh_table, moto_endpoint, sdk_config, table_properties, template_path,
};
use serde_yaml_ng::Value as Yaml;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn template() -> Yaml {
    serde_yaml_ng::from_str(&std::fs::read_to_string(template_path()).unwrap()).unwrap()
}

fn functions(template: &Yaml) -> BTreeMap<String, Yaml> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(name, r)| (name.as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

fn function_crates() -> BTreeSet<String> {
    std::fs::read_dir(repo().join("functions"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_function_crate_has_one_resource_and_every_resource_a_crate() {
    let template = template();
    let mut binaries = BTreeSet::new();
    for (name, resource) in functions(&template) {
        assert_eq!(
            resource["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{name}"
        );
        assert_eq!(
            resource["Properties"]["CodeUri"].as_str(),
            Some("."),
            "{name}"
        );
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_owned();
        let manifest =
            std::fs::read_to_string(repo().join("functions").join(&binary).join("Cargo.toml"))
                .unwrap_or_else(|_| panic!("{name}: no crate functions/{binary}"));
        assert!(
            manifest.contains(&format!("[[bin]]\nname = \"{binary}\"")),
            "{name}: functions/{binary} does not build a binary named {binary}"
        );
        assert!(binaries.insert(binary), "{name}: binary used twice");
    }
    assert_eq!(binaries, function_crates());
}

/// `sam build` runs `cargo lambda build --bin NAME` at the workspace root, which builds the
/// default members together: if the local server, the bench or the tests were among them, cargo
/// would unify their features (ANSI colours, `EnvFilter`, the file store) into the functions.
#[test]
fn a_plain_build_selects_the_functions_and_their_library_only() {
    let output = std::process::Command::new(env!("CARGO"))
        .current_dir(repo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let default_members: BTreeSet<String> = metadata["workspace_default_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            let package = metadata["packages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["id"] == *id)
                .unwrap();
            package["name"].as_str().unwrap().to_owned()
        })
        .collect();
    let mut expected = function_crates();
    expected.insert("delegate-access".to_owned());
    assert_eq!(default_members, expected);
}

#[test]
fn the_environment_of_every_function_satisfies_the_configuration_loader() {
    let template = template();
    let global: BTreeSet<String> = template["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    // A valid value for every variable the code knows.
    let valid: BTreeMap<&str, &str> = BTreeMap::from([
        (vars::TABLE_NAME, "delegates"),
        (vars::PORTAL_URL, "https://portal.example.com"),
        (vars::PORTAL_ORIGIN, "https://portal.example.com"),
        (vars::MAIL_FROM_ADDRESS, "no-reply@example.com"),
        (vars::MAIL_FROM_NAME, "Delegate Access"),
        (vars::SES_CONFIGURATION_SET, "delegates"),
        (vars::JWT_ALGORITHM, "RS256"),
        (vars::JWT_JWKS, r#"{"keys":[]}"#),
        (vars::JWT_ISSUER, "https://issuer.example.com"),
        (vars::JWT_AUDIENCE, "delegates-api"),
        (vars::JWT_ACCOUNT_CLAIM, "account_id"),
        (vars::JWT_ROLE_CLAIMS, "role"),
        (vars::JWT_ADMIN_ROLE, "admin"),
        (vars::JWT_LEEWAY_SECONDS, "30"),
        (vars::INVITATION_LIFETIME_HOURS, "168"),
        (vars::INVITATIONS_PER_DAY, "50"),
        (vars::EXPIRED_INVITATION_RETENTION_DAYS, "30"),
        (vars::NOTICE_VERSION, "2026-01"),
        (vars::NOTICE_TEXT, "Notice"),
        (reminder::vars::REMINDER_PERIOD, "monthly"),
        (reminder::vars::REMINDER_CONCURRENCY, "16"),
        (reminder::vars::REMINDER_TIME_BUDGET_SECONDS, "840"),
    ]);
    for (name, resource) in functions(&template) {
        let mut names = global.clone();
        if let Some(own) = resource["Properties"]["Environment"]["Variables"].as_mapping() {
            names.extend(own.keys().map(|k| k.as_str().unwrap().to_owned()));
        }
        for variable in &names {
            assert!(
                valid.contains_key(variable.as_str()),
                "{name} sets {variable}, which the code never reads"
            );
        }
        // With exactly the variables the template sets, the loader must find all it requires.
        let env: std::collections::HashMap<String, String> = names
            .iter()
            .map(|n| (n.clone(), valid[n.as_str()].to_owned()))
            .collect();
        let env = Env::from_map(&env);
        Config::from_env(&env).unwrap_or_else(|e| panic!("{name}: {e}"));
        env.required(vars::TABLE_NAME)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        ReminderSettings::from_env(&env).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            !names.contains(vars::JWT_SECRET),
            "{name}: the HS256 development secret is not for AWS"
        );
    }
}

#[test]
fn the_table_matches_the_store() {
    let properties = table_properties(&template_path()).unwrap();
    let keys: Vec<(&str, &str)> = properties["KeySchema"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap(),
                k["KeyType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(keys, [(PARTITION_KEY, "HASH"), (SORT_KEY, "RANGE")]);
    assert_eq!(
        properties["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some(TTL_ATTRIBUTE)
    );
    assert_eq!(
        properties["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
    assert_eq!(properties["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    let index = &properties["GlobalSecondaryIndexes"][0];
    assert_eq!(index["IndexName"].as_str(), Some(REMINDER_INDEX));
    assert_eq!(
        index["KeySchema"][0]["AttributeName"].as_str(),
        Some(REMINDER_SHARD_ATTRIBUTE)
    );
    assert_eq!(
        index["KeySchema"][1]["AttributeName"].as_str(),
        Some(PARTITION_KEY)
    );
    let projected: Vec<&str> = index["Projection"]["NonKeyAttributes"]
        .as_sequence()
        .map(|a| a.iter().filter_map(Yaml::as_str).collect())
        .unwrap_or_default();
    assert!(
        projected.contains(&"last_reminder_period"),
        "the reminder skips reminded accounts from the index"
    );
    let resource = &template()["Resources"]["DelegatesTable"];
    assert_eq!(resource["DeletionPolicy"].as_str(), Some("Retain"));
    assert_eq!(resource["UpdateReplacePolicy"].as_str(), Some("Retain"));
    assert_eq!(
        properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        properties["SSESpecification"]["SSEEnabled"].as_bool(),
        Some(true)
    );
}

#[test]
fn policies_grant_no_wildcard_actions_and_ses_only_to_senders() {
    let template = template();
    for (name, resource) in functions(&template) {
        let policies = serde_yaml_ng::to_string(&resource["Properties"]["Policies"]).unwrap();
        assert!(
            !policies.contains("dynamodb:*")
                && !policies.contains("ses:*")
                && !policies.contains("'*'"),
            "{name}: wildcard in {policies}"
        );
        let sends = matches!(
            name.as_str(),
            "AddDelegateFunction" | "ReviewReminderFunction"
        );
        assert_eq!(policies.contains("ses:SendEmail"), sends, "{name}");
    }
}

#[tokio::test]
async fn the_tables_the_tests_create_are_the_templates_table() {
    if moto_endpoint().is_none() {
        return;
    }
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let table = fresh_table(&client).await;
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let described = described.table().unwrap();
    let keys: Vec<(String, String)> = described
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            (PARTITION_KEY.to_owned(), "HASH".to_owned()),
            (SORT_KEY.to_owned(), "RANGE".to_owned())
        ]
    );
    let index = &described.global_secondary_indexes()[0];
    assert_eq!(index.index_name(), Some(REMINDER_INDEX));
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|t| t.attribute_name()),
        Some(TTL_ATTRIBUTE)
    );
}
