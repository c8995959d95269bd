//! Group 3: races, against the in-memory store and DynamoDB on moto.

use std::sync::Arc;

use delegates::http::{App, Operation, handle};
use delegates::store::{DelegateStore, DynamoStore, MemoryStore};
use delegates_tests::aws::{fresh_table, moto_endpoint, sdk_config};
use delegates_tests::reminder_cases::{NoMail, TestMailer};
use delegates_tests::{admin_token, invitation_token_in, new_delegate};
use lambda_http::http::Method;
use serde_json::json;

use super::{app, json, request};

type Shared<S> = Arc<App<S, TestMailer<NoMail>>>;

/// The email in a mix of letter cases, a different mix for each `n`.
fn letter_case_variant(email: &str, n: usize) -> String {
    email
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if (n >> (i % 12)) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

async fn status_of<S: DelegateStore>(
    app: &Shared<S>,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> u16 {
    handle(
        app,
        request(method, uri, token, body.as_ref()),
        Operation::ALL,
    )
    .await
    .status()
    .as_u16()
}

async fn fifty_adds_of_one_email<S: DelegateStore>(app: Shared<S>) {
    let admin = admin_token("acme");
    let mut tasks = Vec::new();
    for n in 0..50 {
        let (app, admin) = (app.clone(), admin.clone());
        tasks.push(tokio::spawn(async move {
            let body = new_delegate(
                "Racer",
                &letter_case_variant("race.condition@example.com", n),
            );
            status_of(&app, Method::POST, "/delegates", Some(&admin), Some(body)).await
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let created = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(created, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| matches!(s, 201 | 409 | 503)),
        "{statuses:?}"
    );
    let list = json(
        &handle(
            &app,
            request(Method::GET, "/delegates", Some(&admin), None),
            Operation::ALL,
        )
        .await,
    );
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    println!("races: 50 concurrent adds of one email -> {created} created");
}

async fn twenty_accepts_of_one_token<S: DelegateStore>(app: Shared<S>) {
    let admin = admin_token("acme");
    let body = new_delegate("Acceptor", "acceptor@example.com");
    assert_eq!(
        status_of(&app, Method::POST, "/delegates", Some(&admin), Some(body)).await,
        201
    );
    let token = invitation_token_in(&app.mailer.messages().last().unwrap().text).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (app, token) = (app.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            status_of(
                &app,
                Method::POST,
                "/invitations/accept",
                None,
                Some(json!({ "token": token })),
            )
            .await
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 410)),
        "{statuses:?}"
    );
    println!("races: 20 concurrent accepts of one token -> 1 accepted");
}

/// Adds and removes of the same address racing; afterwards every email claim has its delegate
/// and every delegate its claim (`consistent` checks the store's own items).
async fn adds_and_removes_racing<S: DelegateStore, F, Fut>(app: Shared<S>, consistent: F)
where
    F: Fn(Shared<S>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let admin = admin_token("acme");
    for round in 0..10 {
        let body = new_delegate("Flip", &format!("flip{round}@example.com"));
        let response = handle(
            &app,
            request(Method::POST, "/delegates", Some(&admin), Some(&body)),
            Operation::ALL,
        )
        .await;
        let id = json(&response)["id"].as_str().unwrap().to_owned();
        let mut tasks = Vec::new();
        for n in 0..6 {
            let (app, admin, id) = (app.clone(), admin.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                if n % 2 == 0 {
                    status_of(
                        &app,
                        Method::DELETE,
                        &format!("/delegates/{id}"),
                        Some(&admin),
                        None,
                    )
                    .await
                } else {
                    let body = new_delegate(
                        "Flip",
                        &letter_case_variant(&format!("flip{round}@example.com"), n),
                    );
                    status_of(&app, Method::POST, "/delegates", Some(&admin), Some(body)).await
                }
            }));
        }
        for task in tasks {
            let status = task.await.unwrap();
            assert!(matches!(status, 201 | 204 | 404 | 409 | 503), "{status}");
        }
    }
    consistent(app).await;
    println!("races: 10 rounds of 3 removes and 3 re-adds racing -> consistent");
}

fn memory_app() -> Shared<MemoryStore> {
    Arc::new(app(MemoryStore::new(), TestMailer::new(NoMail), &[]))
}

async fn memory_consistent(app: Shared<MemoryStore>) {
    let account = delegates::domain::AccountId::parse("acme").unwrap();
    let delegates = app.store.list(&account, 100, None).await.unwrap().items;
    assert_eq!(app.store.email_claims(&account), delegates.len());
}

async fn dynamo_app() -> Option<(Shared<DynamoStore>, aws_sdk_dynamodb::Client, String)> {
    moto_endpoint()?;
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let table = fresh_table(&client).await;
    let store = DynamoStore::new(client.clone(), &table, time::Duration::days(30));
    Some((
        Arc::new(app(store, TestMailer::new(NoMail), &[])),
        client,
        table,
    ))
}

/// Every EMAIL# claim names an existing delegate with that email, and every delegate has its claim.
pub async fn dynamo_consistent(client: &aws_sdk_dynamodb::Client, table: &str) {
    let items = client
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .items()
        .to_vec();
    let delegates: std::collections::HashMap<String, String> = items
        .iter()
        .filter(|i| i["SK"].as_s().unwrap().starts_with("DELEGATE#"))
        .map(|i| {
            (
                i["id"].as_s().unwrap().clone(),
                i["email"].as_s().unwrap().to_lowercase(),
            )
        })
        .collect();
    let claims: Vec<(String, String)> = items
        .iter()
        .filter(|i| i["SK"].as_s().unwrap().starts_with("EMAIL#"))
        .map(|i| {
            (
                i["SK"].as_s().unwrap()["EMAIL#".len()..].to_owned(),
                i["delegate_id"].as_s().unwrap().clone(),
            )
        })
        .collect();
    for (email, holder) in &claims {
        assert_eq!(
            delegates.get(holder),
            Some(email),
            "orphan claim {email} -> {holder}"
        );
    }
    assert_eq!(
        claims.len(),
        delegates.len(),
        "a delegate without its claim"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_fifty_adds() {
    fifty_adds_of_one_email(memory_app()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_twenty_accepts() {
    twenty_accepts_of_one_token(memory_app()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_add_remove_race() {
    adds_and_removes_racing(memory_app(), memory_consistent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_fifty_adds() {
    let Some((app, client, table)) = dynamo_app().await else {
        return;
    };
    fifty_adds_of_one_email(app).await;
    dynamo_consistent(&client, &table).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_twenty_accepts() {
    let Some((app, ..)) = dynamo_app().await else {
        return;
    };
    twenty_accepts_of_one_token(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_add_remove_race() {
    let Some((app, client, table)) = dynamo_app().await else {
        return;
    };
    adds_and_removes_racing(app, |_| async { dynamo_consistent(&client, &table).await }).await;
}
