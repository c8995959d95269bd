//! Group 4: failure injection. The store failing at each step of add, accept and remove, and the
//! mail failing, against the in-memory store and DynamoDB on moto: a problem response, no ghost
//! record or orphan claim afterwards, and the same request succeeds on retry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use delegates::domain::{AccountId, Delegate, DelegateId, InvitationToken};
use delegates::http::{App, Operation, handle};
use delegates::store::{
    DelegatePage, DelegateStore, DynamoStore, MemoryStore, NewInvitation, StoreError,
};
use delegates_tests::aws::{fresh_table, moto_endpoint, sdk_config};
use delegates_tests::reminder_cases::{NoMail, TestMailer};
use delegates_tests::{admin_token, invitation_token_in, new_delegate};
use lambda_http::http::Method;
use serde_json::json;
use time::OffsetDateTime;

use super::{app, assert_problem, json, request};

/// A store whose next calls of chosen operations fail as a throttled DynamoDB would.
pub struct Faulty<S> {
    inner: Arc<S>,
    failures: Mutex<HashMap<&'static str, u32>>,
}

impl<S> Faulty<S> {
    fn new(inner: Arc<S>) -> Self {
        Self {
            inner,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Makes the next `times` calls of `operation` fail.
    fn fail(&self, operation: &'static str, times: u32) {
        self.failures.lock().unwrap().insert(operation, times);
    }

    fn check(&self, operation: &'static str) -> Result<(), StoreError> {
        let mut failures = self.failures.lock().unwrap();
        match failures.get_mut(operation) {
            Some(left) if *left > 0 => {
                *left -= 1;
                Err(StoreError::Unavailable(format!(
                    "{operation}: throttled (injected)"
                )))
            }
            _ => Ok(()),
        }
    }
}

impl<S: DelegateStore> DelegateStore for Faulty<S> {
    async fn list(
        &self,
        account_id: &AccountId,
        limit: u16,
        after: Option<DelegateId>,
    ) -> Result<DelegatePage, StoreError> {
        self.check("list")?;
        self.inner.list(account_id, limit, after).await
    }
    async fn add(&self, invitation: &NewInvitation) -> Result<(), StoreError> {
        self.check("add")?;
        self.inner.add(invitation).await
    }
    async fn accept(
        &self,
        token: &InvitationToken,
        now: OffsetDateTime,
    ) -> Result<Delegate, StoreError> {
        self.check("accept")?;
        self.inner.accept(token, now).await
    }
    async fn remove(&self, account_id: &AccountId, id: DelegateId) -> Result<Delegate, StoreError> {
        self.check("remove")?;
        self.inner.remove(account_id, id).await
    }
}

type FaultyApp<S> = App<Faulty<S>, TestMailer<NoMail>>;

async fn call<S: DelegateStore>(
    app: &FaultyApp<S>,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> lambda_http::Response<lambda_http::Body> {
    handle(
        app,
        request(method, uri, token, body.as_ref()),
        Operation::ALL,
    )
    .await
}

async fn listed<S: DelegateStore>(app: &FaultyApp<S>, admin: &str) -> usize {
    json(&call(app, Method::GET, "/delegates", Some(admin), None).await)["items"]
        .as_array()
        .unwrap()
        .len()
}

/// Runs every failure case; `consistent` checks the backing store's own items afterwards.
async fn every_failure<S: DelegateStore, F, Fut>(app: FaultyApp<S>, consistent: F) -> usize
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let admin = admin_token("acme");
    let body = || Some(new_delegate("Fragile", "fragile@example.com"));
    let mut tried = 0;

    // Add, the storage write fails: 503 with Retry-After, nothing stored, no email sent.
    app.store.fail("add", 1);
    let response = call(&app, Method::POST, "/delegates", Some(&admin), body()).await;
    assert_problem(&response, 503, "add: storage write fails");
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(listed(&app, &admin).await, 0);
    assert!(app.mailer.messages().is_empty());
    consistent().await;
    tried += 1;

    // Add, the email fails: 503, the invitation is withdrawn.
    app.mailer.fail_for("fragile@example.com");
    let response = call(&app, Method::POST, "/delegates", Some(&admin), body()).await;
    assert_problem(&response, 503, "add: email fails");
    assert_eq!(
        listed(&app, &admin).await,
        0,
        "ghost delegate after a failed email"
    );
    consistent().await;
    tried += 1;

    // Add, the email fails and so does the first attempt to withdraw: still nothing left.
    app.store.fail("remove", 1);
    let response = call(&app, Method::POST, "/delegates", Some(&admin), body()).await;
    assert_problem(&response, 503, "add: email and first withdrawal fail");
    assert_eq!(
        listed(&app, &admin).await,
        0,
        "ghost delegate after a failed withdrawal"
    );
    consistent().await;
    app.mailer.heal();
    tried += 1;

    // The same add now succeeds.
    let response = call(&app, Method::POST, "/delegates", Some(&admin), body()).await;
    assert_eq!(response.status(), 201);
    let id = json(&response)["id"].as_str().unwrap().to_owned();
    let token = invitation_token_in(&app.mailer.messages().last().unwrap().text).unwrap();
    tried += 1;

    // Listing fails: 503, then works.
    app.store.fail("list", 1);
    assert_problem(
        &call(&app, Method::GET, "/delegates", Some(&admin), None).await,
        503,
        "list fails",
    );
    assert_eq!(listed(&app, &admin).await, 1);
    tried += 1;

    // Accept fails: 503, the invitation is still pending and the retry accepts it.
    app.store.fail("accept", 1);
    let accept = || Some(json!({ "token": token }));
    assert_problem(
        &call(&app, Method::POST, "/invitations/accept", None, accept()).await,
        503,
        "accept fails",
    );
    let list = json(&call(&app, Method::GET, "/delegates", Some(&admin), None).await);
    assert_eq!(list["items"][0]["status"], "pending");
    assert_eq!(
        call(&app, Method::POST, "/invitations/accept", None, accept())
            .await
            .status(),
        200
    );
    tried += 1;

    // Remove fails: 503, the delegate is still there, the retry removes it with its claim.
    app.store.fail("remove", 1);
    let uri = format!("/delegates/{id}");
    assert_problem(
        &call(&app, Method::DELETE, &uri, Some(&admin), None).await,
        503,
        "remove fails",
    );
    assert_eq!(listed(&app, &admin).await, 1);
    consistent().await;
    assert_eq!(
        call(&app, Method::DELETE, &uri, Some(&admin), None)
            .await
            .status(),
        204
    );
    assert_eq!(listed(&app, &admin).await, 0);
    consistent().await;
    tried += 1;

    // And the address can be invited again.
    assert_eq!(
        call(&app, Method::POST, "/delegates", Some(&admin), body())
            .await
            .status(),
        201
    );
    consistent().await;
    tried + 1
}

#[tokio::test]
async fn memory_store_failures_leave_nothing_behind() {
    let store = Arc::new(MemoryStore::new());
    let app = app(Faulty::new(store.clone()), TestMailer::new(NoMail), &[]);
    let account = AccountId::parse("acme").unwrap();
    let tried = every_failure(app, || {
        let (store, account) = (store.clone(), account.clone());
        async move {
            let delegates = store.list(&account, 100, None).await.unwrap().items.len();
            assert_eq!(
                store.email_claims(&account),
                delegates,
                "orphan email claim"
            );
        }
    })
    .await;
    println!("failure injection, in-memory store: {tried} cases");
}

#[tokio::test]
async fn dynamodb_failures_leave_nothing_behind() {
    if moto_endpoint().is_none() {
        return;
    }
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let table = fresh_table(&client).await;
    let store = DynamoStore::new(client.clone(), &table, time::Duration::days(30));
    let app = app(Faulty::new(Arc::new(store)), TestMailer::new(NoMail), &[]);
    let tried = every_failure(app, || super::races::dynamo_consistent(&client, &table)).await;
    println!("failure injection, DynamoDB: {tried} cases");
}
