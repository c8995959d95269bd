//! The shared handlers driven by the API Gateway HTTP API (v2) events in `events/`, loaded with
//! `lambda_http::request::from_str` exactly as a Lambda receives them. The events carry a token
//! signed with the local development secret, so they run against the local configuration.

use std::sync::Arc;

use delegates::clock::SystemClock;
use delegates::config::{Config, Env};
use delegates::http::{App, Function, Operation, handle, handle_function};
use delegates::mail::Outbox;
use delegates::store::MemoryStore;
use delegates_local::{build_app, local_defaults};
use delegates_tests::{invitation_token_in, read_outbox};
use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

struct Harness {
    app: App<MemoryStore, Outbox>,
    outbox: tempfile::TempDir,
}

fn harness() -> Harness {
    let defaults = local_defaults();
    let config = Config::from_env(&Env::from_map(&defaults)).expect("local configuration");
    let outbox = tempfile::tempdir().unwrap();
    let mailer = Outbox::new(outbox.path(), &config.sender).unwrap();
    let app = build_app(config, MemoryStore::new(), mailer, Arc::new(SystemClock)).unwrap();
    Harness { app, outbox }
}

fn event(name: &str) -> Request {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    lambda_http::request::from_str(&json).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn body_json(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).expect("JSON body")
}

async fn call(harness: &Harness, request: Request, operation: Operation) -> Response<Body> {
    handle(&harness.app, request, &[operation]).await
}

#[tokio::test]
async fn list_event_lists_the_accounts_delegates() {
    let harness = harness();
    let added = call(&harness, event("add-delegate.json"), Operation::AddDelegate).await;
    assert_eq!(added.status(), 201);
    let response = call(
        &harness,
        event("list-delegates.json"),
        Operation::ListDelegates,
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = body_json(&response);
    assert_eq!(body["items"][0]["email"], "Pat.Partner@it-partner.example");
    assert_eq!(body["items"][0]["status"], "pending");
    assert_eq!(body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn notice_event_returns_the_current_notice() {
    let harness = harness();
    let response = call(&harness, event("get-notice.json"), Operation::ReadNotice).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["version"], "2026-01");
}

#[tokio::test]
async fn add_event_creates_a_delegate_and_sends_the_invitation() {
    let harness = harness();
    let response = call(&harness, event("add-delegate.json"), Operation::AddDelegate).await;
    assert_eq!(response.status(), 201);
    let body = body_json(&response);
    assert_eq!(body["name"], "Pat Partner");
    assert_eq!(body["invited_by"]["sub"], "demo-admin");
    let location = response.headers()["location"].to_str().unwrap();
    assert_eq!(
        location,
        format!("/delegates/{}", body["id"].as_str().unwrap())
    );
    let sent = read_outbox(harness.outbox.path());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "Pat.Partner@it-partner.example");
}

#[tokio::test]
async fn remove_event_removes_an_existing_delegate_and_404s_otherwise() {
    let harness = harness();
    let response = call(
        &harness,
        event("remove-delegate.json"),
        Operation::RemoveDelegate,
    )
    .await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );

    let added = call(&harness, event("add-delegate.json"), Operation::AddDelegate).await;
    let id = body_json(&added)["id"].as_str().unwrap().to_owned();
    let mut request = event("remove-delegate.json");
    *request.uri_mut() =
        format!("https://abc123.execute-api.eu-west-1.amazonaws.com/delegates/{id}")
            .parse()
            .unwrap();
    let response = call(&harness, request, Operation::RemoveDelegate).await;
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn accept_event_activates_with_a_real_token_and_410s_for_the_sample() {
    let harness = harness();
    let response = call(
        &harness,
        event("accept-invite.json"),
        Operation::AcceptInvitation,
    )
    .await;
    assert_eq!(response.status(), 410);

    call(&harness, event("add-delegate.json"), Operation::AddDelegate).await;
    let sent = read_outbox(harness.outbox.path());
    let token = invitation_token_in(&sent[0].text).unwrap();
    let mut request = event("accept-invite.json");
    *request.body_mut() = Body::Text(serde_json::json!({ "token": token }).to_string());
    let response = call(&harness, request, Operation::AcceptInvitation).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["account_id"], "demo");
}

#[tokio::test]
async fn a_function_serves_only_its_own_operations() {
    let harness = harness();
    let response = call(
        &harness,
        event("list-delegates.json"),
        Operation::AddDelegate,
    )
    .await;
    assert_eq!(response.status(), 404);
}

/// The list function's operations, as its `main` declares them.
struct ListFunction;

impl Function for ListFunction {
    const OPERATIONS: &'static [Operation] = &[Operation::ListDelegates, Operation::ReadNotice];
}

/// The accept function's operations.
struct AcceptFunction;

impl Function for AcceptFunction {
    const OPERATIONS: &'static [Operation] = &[Operation::AcceptInvitation];
}

#[tokio::test]
async fn a_lambda_function_runs_its_compiled_in_operations_and_404s_the_others() {
    let harness = harness();
    let app = &harness.app;
    for name in ["list-delegates.json", "get-notice.json"] {
        let response = handle_function::<ListFunction, _, _>(app, event(name)).await;
        assert_eq!(response.status(), 200, "{name}");
    }
    let accepted = handle_function::<AcceptFunction, _, _>(app, event("accept-invite.json")).await;
    assert_eq!(accepted.status(), 410, "the sample token has no invitation");

    for (name, response) in [
        (
            "add-delegate.json to list",
            handle_function::<ListFunction, _, _>(app, event("add-delegate.json")).await,
        ),
        (
            "remove-delegate.json to list",
            handle_function::<ListFunction, _, _>(app, event("remove-delegate.json")).await,
        ),
        (
            "accept-invite.json to list",
            handle_function::<ListFunction, _, _>(app, event("accept-invite.json")).await,
        ),
        (
            "list-delegates.json to accept",
            handle_function::<AcceptFunction, _, _>(app, event("list-delegates.json")).await,
        ),
    ] {
        assert_eq!(response.status(), 404, "{name}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{name}"
        );
        assert_eq!(
            body_json(&response)["type"],
            "urn:delegate-access:problem:not-found",
            "{name}"
        );
    }
    assert!(
        read_outbox(harness.outbox.path()).is_empty(),
        "the add refused by the list function sent no invitation"
    );
    let listed = handle_function::<ListFunction, _, _>(app, event("list-delegates.json")).await;
    assert_eq!(body_json(&listed)["items"], serde_json::json!([]));
}

#[tokio::test]
async fn events_without_the_admin_token_are_401() {
    let harness = harness();
    for (name, operation) in [
        ("list-delegates.json", Operation::ListDelegates),
        ("add-delegate.json", Operation::AddDelegate),
        ("remove-delegate.json", Operation::RemoveDelegate),
        ("get-notice.json", Operation::ReadNotice),
    ] {
        let mut request = event(name);
        request.headers_mut().remove("authorization");
        let response = call(&harness, request, operation).await;
        assert_eq!(response.status(), 401, "{name}");
        let mut request = event(name);
        request
            .headers_mut()
            .insert("authorization", HeaderValue::from_static("Bearer x.y.z"));
        assert_eq!(
            call(&harness, request, operation).await.status(),
            401,
            "{name}"
        );
    }
}
