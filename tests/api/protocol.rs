//! Authentication, media types, sizes, routing and CORS: the same for every route.

use delegates_tests::{
    PORTAL_ORIGIN, TestApp, admin_token, assert_problem, new_delegate, token_with_role,
};
use reqwest::Method;

#[tokio::test]
async fn admin_routes_need_a_valid_bearer_token() {
    let app = TestApp::spawn().await;
    let valid = admin_token("acme");
    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "no header"),
        (Some("Basic dXNlcjpwYXNz".into()), "basic"),
        (Some(format!("bearer {valid}")), "scheme in another case"),
        (Some(valid.clone()), "no scheme"),
        (Some("Bearer ".into()), "empty token"),
        (Some("Bearer not.a.jwt".into()), "garbage"),
        (Some(format!("Bearer {valid}x")), "bad signature"),
    ];
    for (header, case) in cases {
        for (method, path) in [
            (Method::GET, "/delegates"),
            (Method::POST, "/delegates"),
            (
                Method::DELETE,
                "/delegates/01a23d09-b85c-71c6-b586-80dc249f5a3c",
            ),
            (Method::GET, "/notice"),
        ] {
            let mut request = app.client.request(method.clone(), app.url(path));
            if let Some(header) = &header {
                request = request.header("authorization", header);
            }
            if method == Method::POST {
                request = request.json(&new_delegate("Bob", "bob@example.com"));
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response
                    .headers()
                    .get("www-authenticate")
                    .map(|v| v.to_str().unwrap()),
                Some("Bearer"),
                "{case}: {method} {path}"
            );
            assert_problem(response, 401).await;
        }
    }
    assert!(app.sent_emails().is_empty());
}

#[tokio::test]
async fn a_valid_token_without_the_admin_role_is_403() {
    let app = TestApp::spawn().await;
    let delegate = token_with_role("acme", "delegate");
    let response = app.list_delegates(&delegate, "").await;
    assert_problem(response, 403).await;
    let response = app
        .add_delegate(&delegate, &new_delegate("Bob", "bob@example.com"))
        .await;
    assert_problem(response, 403).await;
}

#[tokio::test]
async fn bodies_must_be_json_objects_of_at_most_16_kib() {
    let app = TestApp::spawn().await;
    let admin = admin_token("acme");
    let post = |content_type: Option<&'static str>, body: Vec<u8>| {
        let mut request = app.client.post(app.url("/delegates")).bearer_auth(&admin);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.body(body).send()
    };
    let valid = new_delegate("Bob", "bob@example.com")
        .to_string()
        .into_bytes();

    assert_problem(post(None, valid.clone()).await.unwrap(), 415).await;
    assert_problem(post(Some("text/plain"), valid.clone()).await.unwrap(), 415).await;
    assert_problem(
        post(Some("application/xml"), b"<a/>".to_vec())
            .await
            .unwrap(),
        415,
    )
    .await;
    for malformed in [
        &b"{"[..],
        b"",
        b"[1,2]",
        b"\"text\"",
        b"{\"name\": }",
        b"\xff\xfe",
    ] {
        let response = post(Some("application/json"), malformed.to_vec())
            .await
            .unwrap();
        let problem = assert_problem(response, 400).await;
        assert_eq!(
            problem["type"],
            "urn:delegate-access:problem:malformed-json"
        );
    }
    let huge = format!(
        "{{\"name\":\"{}\",\"email\":\"a@b.co\",\"notice_acknowledged\":true,\"notice_version\":\"2026-01\"}}",
        "x".repeat(16 * 1024)
    );
    assert_problem(
        post(Some("application/json"), huge.into_bytes())
            .await
            .unwrap(),
        413,
    )
    .await;

    let response = post(Some("application/json; charset=utf-8"), valid)
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let app = TestApp::spawn().await;
    let admin = admin_token("acme");
    for path in [
        "/",
        "/delegate",
        "/delegates/a/b",
        "/invitations",
        "/delegates/",
    ] {
        let response = app
            .client
            .get(app.url(path))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_problem(response, 404).await;
    }
    for (method, path, allow) in [
        (Method::PUT, "/delegates", "GET, POST, OPTIONS"),
        (Method::GET, "/invitations/accept", "POST, OPTIONS"),
        (
            Method::PATCH,
            "/delegates/01a23d09-b85c-71c6-b586-80dc249f5a3c",
            "DELETE, OPTIONS",
        ),
        (Method::POST, "/notice", "GET, OPTIONS"),
    ] {
        let response = app
            .client
            .request(method, app.url(path))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], allow);
        assert_problem(response, 405).await;
    }
}

#[tokio::test]
async fn cors_allows_the_portal_origin_only() {
    let app = TestApp::spawn().await;
    let admin = admin_token("acme");
    let from = |origin: &'static str| {
        app.client
            .get(app.url("/delegates"))
            .bearer_auth(&admin)
            .header("origin", origin)
            .send()
    };
    let response = from(PORTAL_ORIGIN).await.unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        PORTAL_ORIGIN
    );
    let response = from("https://evil.test").await.unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let preflight = app
        .client
        .request(Method::OPTIONS, app.url("/delegates"))
        .header("origin", PORTAL_ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        PORTAL_ORIGIN
    );
    let methods = preflight.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(methods.contains("POST"));
    let headers = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(headers.contains("authorization"));
}
