//! The `review-reminder` binary under the Runtime API, with both event shapes, on moto.

use std::time::Duration;

use delegates::config::vars;
use delegates::http::{Operation, handle};
use delegates_tests::aws::{fresh_table, moto_endpoint, sdk_config, sent_messages, verify_sender};
use delegates_tests::runtime_api::{FunctionProcess, Outcome, RuntimeApi};
use serde_json::json;

#[tokio::test]
async fn the_function_reminds_once_per_period_for_either_event_shape() {
    let Some(endpoint) = moto_endpoint() else {
        return;
    };
    let sdk = sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    let table = fresh_table(&dynamodb).await;
    let mut env = delegates_local::local_defaults();
    env.insert(vars::TABLE_NAME.into(), table.clone());
    verify_sender(&ses, "no-reply@delegates.localhost").await;

    // A delegate for account demo, added through the add handler on the same table.
    let config =
        delegates::config::Config::from_env(&delegates::config::Env::from_map(&env)).unwrap();
    let store = delegates::store::DynamoStore::new(
        dynamodb.clone(),
        &table,
        config.expired_invitation_retention,
    );
    let mailer = delegates::mail::SesMailer::new(ses.clone(), &config.sender, None);
    let app = delegates_local::build_app(
        config,
        store,
        mailer,
        std::sync::Arc::new(delegates::clock::SystemClock),
    )
    .unwrap();
    let event_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/add-delegate.json");
    let add =
        lambda_http::request::from_str(&std::fs::read_to_string(event_path).unwrap()).unwrap();
    assert_eq!(
        handle(&app, add, &[Operation::AddDelegate]).await.status(),
        201
    );

    delegates_tests::aws::with_aws_variables(&mut env);
    let api = RuntimeApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut process = FunctionProcess::spawn("review-reminder", &api, &env, dir.path().join("log"));
    process
        .wait_until_ready(&api, Duration::from_secs(20))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", process.logs()));

    let reminders_to_admin = || async {
        sent_messages(&endpoint)
            .await
            .into_iter()
            .filter(|m| {
                m.to == ["admin@demo.localhost"]
                    && m.subject.starts_with("Review your delegate users")
            })
            .count()
    };
    let before = reminders_to_admin().await;
    let envelope = json!({
        "version": "0", "id": "8d6a4f1e", "detail-type": "Scheduled Event",
        "source": "aws.scheduler", "account": "123456789012", "time": "2031-03-01T09:00:00Z",
        "region": "eu-west-1", "resources": [], "detail": {}
    });
    let fixed = json!({ "source": "delegate-access.review-reminder", "period": "2031-03" });
    let next_period = json!({ "source": "delegate-access.review-reminder", "period": "2031-04" });
    for (event, sent) in [
        (&envelope, 1),
        (&fixed, 0),
        (&envelope, 0),
        (&next_period, 1),
    ] {
        match api.invoke(event, Duration::from_secs(30)).await {
            Outcome::Response(report) => {
                assert_eq!(report["reminders_sent"], sent, "{event}: {report}")
            }
            Outcome::Error(error) => panic!("{event}: {error}\n{}", process.logs()),
        }
    }
    assert_eq!(reminders_to_admin().await - before, 2);
    let message = sent_messages(&endpoint)
        .await
        .into_iter()
        .rev()
        .find(|m| m.to == ["admin@demo.localhost"])
        .unwrap();
    assert!(message.body.contains("Pat.Partner@it-partner.example"));
    assert!(message.body.contains("http://localhost:5173/delegation"));

    let bad = json!({ "period": "next month" });
    assert!(matches!(
        api.invoke(&bad, Duration::from_secs(30)).await,
        Outcome::Error(_)
    ));
}
