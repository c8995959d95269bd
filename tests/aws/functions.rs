//! The four HTTP function binaries, each run under a Lambda Runtime API on 127.0.0.1, fed the
//! API Gateway events in `events/` and checked against DynamoDB and SES on moto.

use std::time::Duration;

use delegates_tests::aws::{sent_messages, verify_sender};
use delegates_tests::invitation_token_in;
use delegates_tests::runtime_api::{FunctionProcess, RuntimeApi};
use serde_json::json;

use super::{Moto, event};

struct Function {
    api: RuntimeApi,
    process: FunctionProcess,
    _log_dir: tempfile::TempDir,
}

async fn start(binary: &str, moto: &Moto) -> Function {
    let api = RuntimeApi::start().await;
    let mut env = moto.env();
    delegates_tests::aws::with_aws_variables(&mut env);
    // TRACE: even then, no token, JWT or link may reach the logs.
    env.insert("AWS_LAMBDA_LOG_LEVEL".into(), "TRACE".into());
    let log_dir = tempfile::tempdir().unwrap();
    let mut process = FunctionProcess::spawn(binary, &api, &env, log_dir.path().join("log"));
    if let Err(error) = process
        .wait_until_ready(&api, Duration::from_secs(20))
        .await
    {
        panic!("{binary} did not start: {error}\n{}", process.logs());
    }
    Function {
        api,
        process,
        _log_dir: log_dir,
    }
}

#[tokio::test]
async fn the_four_functions_run_the_delegate_story_on_dynamodb_and_ses() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    verify_sender(&moto.ses, "no-reply@delegates.localhost").await;
    let list = start("list-delegates", &moto).await;
    let add = start("add-delegate", &moto).await;
    let remove = start("remove-delegate", &moto).await;
    let accept = start("accept-invite", &moto).await;

    // Add: 201, the delegate item and its email claim in DynamoDB, the invitation in SES.
    let added = add.api.invoke_http(&event("add-delegate.json")).await;
    assert_eq!(added.status(), 201, "{:?}\n{}", added, add.process.logs());
    let delegate = added.json();
    let id = delegate["id"].as_str().unwrap().to_owned();
    assert_eq!(
        added.header("location").unwrap(),
        format!("/delegates/{id}")
    );
    let items = moto.items().await;
    let sort_keys: Vec<&str> = items
        .iter()
        .filter_map(|i| i["SK"].as_s().ok().map(String::as_str))
        .collect();
    assert!(
        sort_keys.contains(&format!("DELEGATE#{id}").as_str()),
        "{sort_keys:?}"
    );
    assert!(
        sort_keys.contains(&"EMAIL#pat.partner@it-partner.example"),
        "{sort_keys:?}"
    );
    let sent = sent_messages(&moto.endpoint).await;
    let invitation = sent
        .iter()
        .rev()
        .find(|m| m.to == ["Pat.Partner@it-partner.example"])
        .expect("the invitation reached SES");
    let token = invitation_token_in(&invitation.body).expect("the email carries the link");

    // List (and the notice) through the list function.
    let listed = list.api.invoke_http(&event("list-delegates.json")).await;
    assert_eq!(listed.status(), 200);
    assert_eq!(listed.json()["items"][0]["status"], "pending");
    let notice = list.api.invoke_http(&event("get-notice.json")).await;
    assert_eq!(notice.json()["version"], "2026-01");

    // Accept with the token from the email; a second time is 410.
    let mut accept_event = event("accept-invite.json");
    accept_event["body"] = json!(json!({ "token": token }).to_string());
    let accepted = accept.api.invoke_http(&accept_event).await;
    assert_eq!(
        accepted.status(),
        200,
        "{accepted:?}\n{}",
        accept.process.logs()
    );
    assert_eq!(accepted.json()["account_id"], "demo");
    let again = accept.api.invoke_http(&accept_event).await;
    assert_eq!(again.status(), 410);
    assert_eq!(
        again.header("content-type").unwrap(),
        "application/problem+json"
    );
    let listed = list.api.invoke_http(&event("list-delegates.json")).await;
    assert_eq!(listed.json()["items"][0]["status"], "active");

    // Remove: 204 and both items gone; the sample event's unknown id is 404.
    let missing = remove.api.invoke_http(&event("remove-delegate.json")).await;
    assert_eq!(missing.status(), 404);
    let mut remove_event = event("remove-delegate.json");
    remove_event["rawPath"] = json!(format!("/delegates/{id}"));
    remove_event["requestContext"]["http"]["path"] = json!(format!("/delegates/{id}"));
    remove_event["pathParameters"]["id"] = json!(id);
    let removed = remove.api.invoke_http(&remove_event).await;
    assert_eq!(
        removed.status(),
        204,
        "{removed:?}\n{}",
        remove.process.logs()
    );
    let left: Vec<String> = moto
        .items()
        .await
        .iter()
        .filter_map(|i| i["SK"].as_s().ok().cloned())
        .filter(|sk| sk.starts_with("DELEGATE#") || sk.starts_with("EMAIL#"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // No function logged the token or the admin JWT.
    let admin_jwt = event("list-delegates.json")["headers"]["authorization"]
        .as_str()
        .unwrap()
        .trim_start_matches("Bearer ")
        .to_owned();
    for function in [&list, &add, &remove, &accept] {
        let logs = function.process.logs();
        assert!(logs.lines().count() > 3, "logs were captured: {logs}");
        assert!(!logs.contains(&token), "a token reached the logs");
        assert!(
            !logs.contains(token.rsplit('.').next().unwrap()),
            "a token secret reached the logs"
        );
        assert!(!logs.contains(&admin_jwt), "a JWT reached the logs");
        assert!(
            !logs.contains("delegation/accept?token="),
            "an invite link reached the logs"
        );
    }
}

#[tokio::test]
async fn a_function_with_a_missing_variable_stops_at_start_up_naming_it() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    let api = RuntimeApi::start().await;
    let mut env = moto.env();
    env.remove("DELEGATES_TABLE");
    env.insert("JWT_ISSUER".into(), String::new());
    delegates_tests::aws::with_aws_variables(&mut env);
    let dir = tempfile::tempdir().unwrap();
    let mut process = FunctionProcess::spawn("list-delegates", &api, &env, dir.path().join("log"));
    let ready = process
        .wait_until_ready(&api, Duration::from_secs(10))
        .await;
    assert!(ready.is_err(), "it must not serve without configuration");
    let logs = process.logs();
    assert!(logs.contains("JWT_ISSUER"), "{logs}");
}
