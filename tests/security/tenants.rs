//! Group 2: tenant isolation. With a valid admin token of account B, every route against account
//! A's ids, cursors and tokens: 404/400/410, and A's data unchanged.

use delegates::domain::{AccountId, DelegateId, InvitationToken};
use delegates::http::{Operation, handle};
use delegates::store::MemoryStore;
use delegates_tests::reminder_cases::{NoMail, TestMailer};
use delegates_tests::{admin_token, invitation_token_in, new_delegate};
use lambda_http::http::Method;
use serde_json::json;

use super::{app, assert_problem, json, request};

#[tokio::test]
async fn another_accounts_admin_reaches_nothing_of_account_a() {
    let app = app(MemoryStore::new(), TestMailer::new(NoMail), &[]);
    let all = Operation::ALL;
    let a = admin_token("acme");
    let b = admin_token("globex");
    let mut ids = Vec::new();
    for n in 0..3 {
        let body = new_delegate(&format!("A{n}"), &format!("a{n}@example.com"));
        let response = handle(
            &app,
            request(Method::POST, "/delegates", Some(&a), Some(&body)),
            all,
        )
        .await;
        ids.push(json(&response)["id"].as_str().unwrap().to_owned());
    }
    let tokens: Vec<String> = app
        .mailer
        .messages()
        .iter()
        .map(|m| invitation_token_in(&m.text).unwrap())
        .collect();
    let a_list = |limit: &str| {
        request(
            Method::GET,
            &format!("/delegates?limit={limit}"),
            Some(&a),
            None,
        )
    };
    let before = json(&handle(&app, a_list("100"), all).await);
    let cursor = json(&handle(&app, a_list("1"), all).await)["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut tried = 0;
    // B's own list is empty, and A's cursor is refused.
    let response = handle(
        &app,
        request(Method::GET, "/delegates", Some(&b), None),
        all,
    )
    .await;
    assert_eq!(json(&response)["items"], json!([]));
    let response = handle(
        &app,
        request(
            Method::GET,
            &format!("/delegates?cursor={cursor}"),
            Some(&b),
            None,
        ),
        all,
    )
    .await;
    assert_problem(&response, 400, "A's cursor used by B");
    tried += 2;
    // B cannot remove A's delegates.
    for id in &ids {
        let response = handle(
            &app,
            request(Method::DELETE, &format!("/delegates/{id}"), Some(&b), None),
            all,
        )
        .await;
        assert_problem(&response, 404, "B removes A's delegate");
        tried += 1;
    }
    // Tokens naming A's invitations without A's secret are gone.
    for id in &ids {
        let forged = InvitationToken::generate(
            &AccountId::parse("acme").unwrap(),
            DelegateId::parse(id).unwrap(),
        );
        let body = json!({ "token": forged.expose() });
        let response = handle(
            &app,
            request(Method::POST, "/invitations/accept", Some(&b), Some(&body)),
            all,
        )
        .await;
        assert_problem(&response, 410, "forged token for A's invitation");
        tried += 1;
    }
    // A's real secret moved to B's account is gone too.
    for token in &tokens {
        let moved = format!("Z2xvYmV4.{}", token.split_once('.').unwrap().1);
        let body = json!({ "token": moved });
        let response = handle(
            &app,
            request(Method::POST, "/invitations/accept", None, Some(&body)),
            all,
        )
        .await;
        assert_problem(&response, 410, "A's secret under B's account");
        tried += 1;
    }
    // The tenant cannot be chosen in the body or the query.
    let mut body = new_delegate("Sneaky", "sneaky@example.com");
    body["account_id"] = json!("acme");
    let response = handle(
        &app,
        request(Method::POST, "/delegates", Some(&b), Some(&body)),
        all,
    )
    .await;
    assert_problem(&response, 400, "account_id in the body");
    let response = handle(
        &app,
        request(Method::GET, "/delegates?account_id=acme", Some(&b), None),
        all,
    )
    .await;
    assert_eq!(
        json(&response)["items"],
        json!([]),
        "account_id in the query is ignored"
    );
    tried += 2;

    let after = json(&handle(&app, a_list("100"), all).await);
    assert_eq!(before, after, "A's data changed");
    println!("tenant isolation: {tried} cases");
}
