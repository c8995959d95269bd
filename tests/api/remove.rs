use delegates_tests::{TestApp, admin_token, assert_problem, new_delegate};
use serde_json::Value;

async fn add(app: &TestApp, admin: &str, email: &str) -> String {
    let response = app
        .add_delegate(admin, &new_delegate("Someone", email))
        .await;
    let created: Value = response.json().await.unwrap();
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn removing_a_pending_delegate_kills_the_invitation_link() {
    let app = TestApp::spawn().await;
    let admin = admin_token("acme");
    let id = add(&app, &admin, "pending@example.com").await;
    let token = app.invitation_token_for("pending@example.com");
    assert_eq!(app.remove_delegate(&admin, &id).await.status(), 204);
    assert_problem(app.accept(&token).await, 410).await;
}

#[tokio::test]
async fn a_removed_email_can_be_invited_again() {
    let app = TestApp::spawn().await;
    let admin = admin_token("acme");
    let id = add(&app, &admin, "again@example.com").await;
    assert_eq!(app.remove_delegate(&admin, &id).await.status(), 204);
    let response = app
        .add_delegate(&admin, &new_delegate("Again", "AGAIN@example.com"))
        .await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn another_accounts_delegate_is_not_found_and_stays() {
    let app = TestApp::spawn().await;
    let acme = admin_token("acme");
    let id = add(&app, &acme, "kept@example.com").await;
    let problem = assert_problem(app.remove_delegate(&admin_token("globex"), &id).await, 404).await;
    assert_eq!(problem["type"], "urn:delegate-access:problem:not-found");
    let page: Value = app.list_delegates(&acme, "").await.json().await.unwrap();
    assert_eq!(page["items"][0]["id"], id.as_str());
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404() {
    let app = TestApp::spawn().await;
    let admin = admin_token("acme");
    for id in [
        "01a23d09-b85c-71c6-b586-80dc249f5a3c",
        "nope",
        "%2e%2e",
        "1",
    ] {
        assert_problem(app.remove_delegate(&admin, id).await, 404).await;
    }
}
