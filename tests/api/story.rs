use delegates_tests::{TestApp, admin_token, assert_problem, new_delegate};
use serde_json::Value;

#[tokio::test]
async fn the_whole_delegate_story_over_http() {
    let mut app = TestApp::spawn().await;
    let admin = admin_token("acme");

    // Add: 201 with Location and the pending delegate, never the token.
    let response = app
        .add_delegate(
            &admin,
            &new_delegate("Pat Partner", "Pat.Partner@it.example"),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/delegates/{id}"));
    assert_eq!(created["status"], "pending");
    assert_eq!(created["email"], "Pat.Partner@it.example");
    assert_eq!(created["invited_by"]["email"], "admin@acme.test");
    assert_eq!(created["notice"]["version"], "2026-01");

    // The invitation went out; its link carries the token, which the API never returned.
    let token = app.invitation_token_for("Pat.Partner@it.example");
    assert!(!created.to_string().contains(&token));

    // Accept: 200 with name, email and account; a second accept is 410.
    let accepted = app.accept(&token).await;
    assert_eq!(accepted.status(), 200);
    let accepted: Value = accepted.json().await.unwrap();
    assert_eq!(accepted["name"], "Pat Partner");
    assert_eq!(accepted["email"], "Pat.Partner@it.example");
    assert_eq!(accepted["account_id"], "acme");
    assert_problem(app.accept(&token).await, 410).await;

    // The list shows the delegate as active, and so it stays across a restart.
    for _ in 0..2 {
        let list: Value = app.list_delegates(&admin, "").await.json().await.unwrap();
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["id"], id.as_str());
        assert_eq!(items[0]["status"], "active");
        assert!(items[0]["accepted_at"].is_string());
        assert_eq!(list["next_cursor"], Value::Null);
        app.restart().await;
    }

    // Remove: 204, then the list is empty, also after a restart; a second remove is 404.
    assert_eq!(app.remove_delegate(&admin, &id).await.status(), 204);
    for _ in 0..2 {
        let list: Value = app.list_delegates(&admin, "").await.json().await.unwrap();
        assert_eq!(list["items"], serde_json::json!([]));
        app.restart().await;
    }
    assert_problem(app.remove_delegate(&admin, &id).await, 404).await;
}
