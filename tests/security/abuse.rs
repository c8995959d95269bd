//! Group 7: the invitation cap per account and UTC day -> 429 with Retry-After beyond it.

use delegates::http::{Operation, handle};
use delegates::store::MemoryStore;
use delegates_tests::reminder_cases::{NoMail, TestMailer};
use delegates_tests::{admin_token, new_delegate};
use lambda_http::http::Method;

use super::{app, assert_problem, json, request};

#[tokio::test]
async fn invitations_beyond_the_daily_cap_are_429_with_retry_after() {
    let app = app(
        MemoryStore::new(),
        TestMailer::new(NoMail),
        &[("INVITATIONS_PER_DAY", "3")],
    );
    let admin = admin_token("acme");
    let add = |n: usize, token: &str| {
        request(
            Method::POST,
            "/delegates",
            Some(token),
            Some(&new_delegate("N", &format!("n{n}@example.com"))),
        )
    };
    for n in 0..3 {
        assert_eq!(
            handle(&app, add(n, &admin), Operation::ALL).await.status(),
            201
        );
    }
    let response = handle(&app, add(3, &admin), Operation::ALL).await;
    assert_problem(&response, 429, "fourth invitation of the day");
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry_after), "{retry_after}");
    assert_eq!(
        json(&response)["type"],
        "urn:delegate-access:problem:too-many-invitations"
    );
    assert_eq!(app.mailer.messages().len(), 3, "no email beyond the cap");
    // Another account has its own allowance.
    let other = admin_token("globex");
    assert_eq!(
        handle(&app, add(3, &other), Operation::ALL).await.status(),
        201
    );
    println!("abuse limit: 5 cases");
}
