//! The adversarial battery: tokens, tenant isolation, races, failure injection, generated
//! input, email safety, the abuse limit and the logs. Each group prints how many cases it tried.

mod abuse;
mod email_safety;
mod failures;
mod fuzz;
mod logs;
mod races;
mod tenants;
mod tokens;

use std::collections::HashMap;
use std::sync::Arc;

use delegates::clock::{Clock, SystemClock};
use delegates::config::{Config, Env};
use delegates::http::App;
use delegates::mail::Mailer;
use delegates::store::DelegateStore;
use lambda_http::http::{HeaderValue, Method};
use lambda_http::{Body, Request, Response};
use serde_json::Value;

/// An app on `store` and `mailer` with the test configuration plus `overrides`.
pub fn app<S: DelegateStore, M: Mailer>(
    store: S,
    mailer: M,
    overrides: &[(&str, &str)],
) -> App<S, M> {
    app_with_clock(store, mailer, overrides, Arc::new(SystemClock))
}

/// As [`app`], with a clock.
pub fn app_with_clock<S: DelegateStore, M: Mailer>(
    store: S,
    mailer: M,
    overrides: &[(&str, &str)],
    clock: Arc<dyn Clock>,
) -> App<S, M> {
    let mut env: HashMap<String, String> = delegates_tests::test_env();
    for (name, value) in overrides {
        env.insert((*name).to_owned(), (*value).to_owned());
    }
    let config = Config::from_env(&Env::from_map(&env)).expect("valid test configuration");
    delegates_local::build_app(config, store, mailer, clock).expect("app")
}

/// A request built by hand.
pub fn request(method: Method, uri: &str, token: Option<&str>, body: Option<&Value>) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let body = match body {
        Some(body) => {
            builder = builder.header("content-type", "application/json");
            Body::Text(body.to_string())
        }
        None => Body::Empty,
    };
    builder.body(body).unwrap()
}

/// `POST /delegates` with `body` as the admin `token`, through every operation's handler.
pub async fn post_delegate<S: DelegateStore, M: Mailer>(
    app: &App<S, M>,
    token: &str,
    body: &Value,
) -> Response<Body> {
    delegates::http::handle(
        app,
        request(Method::POST, "/delegates", Some(token), Some(body)),
        delegates::http::Operation::ALL,
    )
    .await
}

/// The response body as JSON (or Null).
pub fn json(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null)
}

/// Asserts a problem+json response with `status`.
pub fn assert_problem(response: &Response<Body>, status: u16, case: &str) {
    assert_eq!(
        response.status().as_u16(),
        status,
        "{case}: {:?}",
        String::from_utf8_lossy(response.body().as_ref())
    );
    assert_eq!(
        response.headers().get("content-type"),
        Some(&HeaderValue::from_static("application/problem+json")),
        "{case}"
    );
}
