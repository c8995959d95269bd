use delegates_tests::{
    NOTICE_VERSION, TestApp, admin_token, assert_problem, error_fields, new_delegate,
};
use serde_json::{Value, json};

#[tokio::test]
async fn an_email_already_invited_is_a_conflict_in_any_letter_case() {
    let app = TestApp::spawn().await;
    let admin = admin_token("acme");
    let first = app
        .add_delegate(&admin, &new_delegate("Bob", "Bob@Example.com"))
        .await;
    assert_eq!(first.status(), 201);
    let again = app
        .add_delegate(&admin, &new_delegate("Bobby", "bob@EXAMPLE.com"))
        .await;
    let problem = assert_problem(again, 409).await;
    assert_eq!(problem["type"], "urn:delegate-access:problem:email-taken");
    assert_eq!(app.sent_emails().len(), 1, "no second invitation was sent");
}

#[tokio::test]
async fn another_account_may_invite_the_same_email() {
    let app = TestApp::spawn().await;
    let body = new_delegate("Bob", "bob@example.com");
    assert_eq!(
        app.add_delegate(&admin_token("acme"), &body).await.status(),
        201
    );
    assert_eq!(
        app.add_delegate(&admin_token("globex"), &body)
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn the_invitation_email_names_admin_notice_expiry_and_link() {
    let app = TestApp::spawn().await;
    app.add_delegate(
        &admin_token("acme"),
        &new_delegate("Zoë <b>Ops</b>", "zoe@example.com"),
    )
    .await;
    let emails = app.sent_emails();
    assert_eq!(emails.len(), 1);
    let email = &emails[0];
    assert_eq!(email.to, "zoe@example.com");
    assert_eq!(
        email.subject,
        "admin@acme.test invited you as a delegate user"
    );
    assert!(
        email.from.contains("<no-reply@delegates.test>"),
        "{}",
        email.from
    );
    let token = email.invitation_token().unwrap();
    for body in [&email.text, &email.html] {
        assert!(body.contains("admin@acme.test"));
        assert!(body.contains("protected health information"));
        assert!(body.contains(&format!(
            "https://portal.test/delegation/accept?token={token}"
        )));
        assert!(body.contains("expires on"));
    }
    assert!(email.text.contains("Zoë <b>Ops</b>"));
    assert!(
        !email.html.contains("<b>Ops</b>"),
        "HTML in the name is escaped"
    );
}

#[tokio::test]
async fn the_notice_must_be_acknowledged_in_its_current_version() {
    let app = TestApp::spawn().await;
    let admin = admin_token("acme");

    let notice = app
        .client
        .get(app.url("/notice"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(notice.status(), 200);
    let notice: Value = notice.json().await.unwrap();
    assert_eq!(notice["version"], NOTICE_VERSION);
    assert!(
        notice["text"]
            .as_str()
            .unwrap()
            .contains("protected health information")
    );

    let mut body = new_delegate("Bob", "bob@example.com");
    body["notice_version"] = json!("2025-06");
    let problem = assert_problem(app.add_delegate(&admin, &body).await, 409).await;
    assert_eq!(
        problem["type"],
        "urn:delegate-access:problem:notice-outdated"
    );
    assert_eq!(problem["current_version"], NOTICE_VERSION);

    let mut body = new_delegate("Bob", "bob@example.com");
    body["notice_acknowledged"] = json!(false);
    let problem = assert_problem(app.add_delegate(&admin, &body).await, 400).await;
    assert_eq!(error_fields(&problem), ["notice_acknowledged"]);
    assert!(app.sent_emails().is_empty());
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once() {
    let app = TestApp::spawn().await;
    let body = json!({
        "name": "Bob\r\nBcc: evil@example.com",
        "email": "not-an-email",
        "notice_acknowledged": "yes",
        "extra": 1
    });
    let problem = assert_problem(app.add_delegate(&admin_token("acme"), &body).await, 400).await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(
        fields,
        [
            "email",
            "extra",
            "name",
            "notice_acknowledged",
            "notice_version"
        ]
    );
    assert!(app.sent_emails().is_empty());
}

#[tokio::test]
async fn names_and_emails_are_normalised() {
    let app = TestApp::spawn().await;
    let response = app
        .add_delegate(
            &admin_token("acme"),
            &new_delegate("  Rene\u{301}  ", "  Rene@Example.com "),
        )
        .await;
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["name"], "Ren\u{e9}");
    assert_eq!(created["email"], "Rene@Example.com");
}

#[tokio::test]
async fn wrong_field_types_are_400() {
    let app = TestApp::spawn().await;
    for body in [
        json!({"name": 1, "email": "a@b.co", "notice_acknowledged": true, "notice_version": NOTICE_VERSION}),
        json!({"name": "A", "email": ["a@b.co"], "notice_acknowledged": true, "notice_version": NOTICE_VERSION}),
        json!({"name": "A", "email": "a@b.co", "notice_acknowledged": 1, "notice_version": NOTICE_VERSION}),
        json!({"name": "A", "email": "a@b.co", "notice_acknowledged": true, "notice_version": 2026}),
        json!({"name": "A", "email": "a@b.co", "notice_acknowledged": null, "notice_version": NOTICE_VERSION}),
    ] {
        let response = app.add_delegate(&admin_token("acme"), &body).await;
        let problem = assert_problem(response, 400).await;
        assert_eq!(error_fields(&problem).len(), 1, "{body}: {problem}");
    }
}
