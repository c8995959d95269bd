//! Failures half-way: a rejected email or an unreachable DynamoDB leaves nothing behind and
//! answers with a problem, and the same add succeeds once the fault is gone.

use delegates::config::vars;
use delegates::http::{Operation, handle};
use delegates_tests::aws::verify_sender;
use serde_json::Value;

use super::{Moto, event, request, unique_address};

#[tokio::test]
async fn a_rejected_invitation_email_leaves_no_delegate_and_can_be_retried() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    let mut env = moto.env();
    let sender = unique_address("unverified", "delegates-rejects.test");
    env.insert(vars::MAIL_FROM_ADDRESS.into(), sender.clone());
    let app = moto.app_unverified(&env);

    let response = handle(
        &app,
        request(&event("add-delegate.json")),
        &[Operation::AddDelegate],
    )
    .await;
    assert_eq!(response.status(), 502);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(problem["type"], "urn:delegate-access:problem:mail-rejected");
    let ghosts: Vec<_> = moto
        .items()
        .await
        .into_iter()
        .filter(|i| {
            let sk = i["SK"].as_s().unwrap();
            sk.starts_with("DELEGATE#") || sk.starts_with("EMAIL#")
        })
        .collect();
    assert!(ghosts.is_empty(), "ghost records: {ghosts:?}");

    verify_sender(&moto.ses, &sender).await;
    let retried = handle(
        &app,
        request(&event("add-delegate.json")),
        &[Operation::AddDelegate],
    )
    .await;
    assert_eq!(retried.status(), 201);
}

#[tokio::test]
async fn an_unreachable_dynamodb_is_503_with_retry_after_and_no_internals() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .load()
        .await;
    let config =
        delegates::config::Config::from_env(&delegates::config::Env::from_map(&moto.env()))
            .unwrap();
    verify_sender(&moto.ses, config.sender.address.as_str()).await;
    let store = delegates::store::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        &moto.table,
        config.expired_invitation_retention,
    );
    let mailer = delegates::mail::SesMailer::new(moto.ses.clone(), &config.sender, None);
    let app = delegates_local::build_app(
        config,
        store,
        mailer,
        std::sync::Arc::new(delegates::clock::SystemClock),
    )
    .unwrap();
    for (name, operation) in [
        ("add-delegate.json", Operation::AddDelegate),
        ("list-delegates.json", Operation::ListDelegates),
    ] {
        let response = handle(&app, request(&event(name)), &[operation]).await;
        assert_eq!(response.status(), 503, "{name}");
        assert!(response.headers().contains_key("retry-after"));
        let body = String::from_utf8_lossy(response.body().as_ref()).to_string();
        assert!(
            !body.contains("127.0.0.1") && !body.to_lowercase().contains("dispatch"),
            "{body}"
        );
    }
}
