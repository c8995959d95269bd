use delegates_tests::{TestApp, admin_token, assert_problem, error_fields, new_delegate};
use serde_json::Value;

async fn names_on_page(app: &TestApp, admin: &str, query: &str) -> (Vec<String>, Option<String>) {
    let response = app.list_delegates(admin, query).await;
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    let names = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect();
    (names, page["next_cursor"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn the_list_pages_newest_first_with_opaque_cursors() {
    let app = TestApp::spawn().await;
    let admin = admin_token("acme");
    for n in 1..=5 {
        let body = new_delegate(&format!("Delegate {n}"), &format!("d{n}@example.com"));
        assert_eq!(app.add_delegate(&admin, &body).await.status(), 201);
    }
    let mut seen = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let (names, cursor) = names_on_page(&app, &admin, &query).await;
        assert!(names.len() <= 2);
        seen.extend(names);
        match cursor {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "Delegate 5",
            "Delegate 4",
            "Delegate 3",
            "Delegate 2",
            "Delegate 1"
        ]
    );
    let (all, cursor) = names_on_page(&app, &admin, "").await;
    assert_eq!(all.len(), 5);
    assert_eq!(cursor, None);
}

#[tokio::test]
async fn accounts_never_see_each_others_delegates_or_cursors() {
    let app = TestApp::spawn().await;
    let acme = admin_token("acme");
    let globex = admin_token("globex");
    for n in 1..=3 {
        let body = new_delegate("Acme delegate", &format!("a{n}@example.com"));
        app.add_delegate(&acme, &body).await;
    }
    let (names, _) = names_on_page(&app, &globex, "").await;
    assert!(names.is_empty());

    let page: Value = app
        .list_delegates(&acme, "limit=1")
        .await
        .json()
        .await
        .unwrap();
    let cursor = page["next_cursor"].as_str().unwrap();
    let problem = assert_problem(
        app.list_delegates(&globex, &format!("cursor={cursor}"))
            .await,
        400,
    )
    .await;
    assert_eq!(
        problem["type"],
        "urn:delegate-access:problem:invalid-cursor"
    );
    for forged in ["garbage", "djE6YWNtZTpub3QtYW4taWQ", "%00"] {
        assert_problem(
            app.list_delegates(&acme, &format!("cursor={forged}")).await,
            400,
        )
        .await;
    }
}

#[tokio::test]
async fn the_limit_must_be_from_1_to_100() {
    let app = TestApp::spawn().await;
    let admin = admin_token("acme");
    for query in [
        "limit=0",
        "limit=101",
        "limit=ten",
        "limit=-5",
        "limit=1&limit=2",
    ] {
        let problem = assert_problem(app.list_delegates(&admin, query).await, 400).await;
        assert_eq!(error_fields(&problem), ["limit"], "{query}");
    }
    for query in ["limit=1", "limit=100"] {
        assert_eq!(app.list_delegates(&admin, query).await.status(), 200);
    }
}

#[tokio::test]
async fn an_expired_invitation_is_listed_as_expired() {
    let app = TestApp::spawn().await;
    let admin = admin_token("acme");
    app.add_delegate(&admin, &new_delegate("Late", "late@example.com"))
        .await;
    app.clock.advance(time::Duration::days(7));
    let page: Value = app.list_delegates(&admin, "").await.json().await.unwrap();
    assert_eq!(page["items"][0]["status"], "expired");
}
