use delegates_tests::{TestApp, admin_token, assert_problem, error_fields, new_delegate};
use serde_json::json;

#[tokio::test]
async fn an_expired_invitation_is_gone() {
    let app = TestApp::spawn().await;
    app.add_delegate(
        &admin_token("acme"),
        &new_delegate("Slow", "slow@example.com"),
    )
    .await;
    let token = app.invitation_token_for("slow@example.com");
    app.clock
        .advance(time::Duration::days(7) + time::Duration::seconds(1));
    let problem = assert_problem(app.accept(&token).await, 410).await;
    assert_eq!(
        problem["type"],
        "urn:delegate-access:problem:invitation-gone"
    );
}

#[tokio::test]
async fn an_invitation_can_be_accepted_until_it_expires() {
    let app = TestApp::spawn().await;
    app.add_delegate(
        &admin_token("acme"),
        &new_delegate("Quick", "quick@example.com"),
    )
    .await;
    let token = app.invitation_token_for("quick@example.com");
    app.clock
        .advance(time::Duration::days(7) - time::Duration::seconds(1));
    assert_eq!(app.accept(&token).await.status(), 200);
}

#[tokio::test]
async fn unknown_and_tampered_tokens_are_gone_and_malformed_ones_are_400() {
    let app = TestApp::spawn().await;
    app.add_delegate(
        &admin_token("acme"),
        &new_delegate("Real", "real@example.com"),
    )
    .await;
    let token = app.invitation_token_for("real@example.com");
    let (head, secret) = token.rsplit_once('.').unwrap();
    let flipped = if secret.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{head}.{flipped}{}", &secret[1..]);
    assert_problem(app.accept(&tampered).await, 410).await;

    // Another account's id with this secret is unknown too.
    let other_account = format!("Z2xvYmV4.{}", token.split_once('.').unwrap().1);
    assert_problem(app.accept(&other_account).await, 410).await;

    for malformed in ["", "abc", "a.b.c", &format!("{token}.x")] {
        let problem = assert_problem(app.accept(malformed).await, 400).await;
        assert_eq!(error_fields(&problem), ["token"], "{malformed:?}");
    }
    // The real token still works after all that.
    assert_eq!(app.accept(&token).await.status(), 200);
}

#[tokio::test]
async fn accepting_needs_no_admin_token_and_a_token_field() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/invitations/accept"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 400).await;
    assert_eq!(error_fields(&problem), ["token"]);
}
