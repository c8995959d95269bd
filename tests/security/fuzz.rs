//! Group 5 (in Rust): property tests over validation and request parsing. Whatever the input,
//! no panic, and no 5xx from the handlers.

use delegates::domain::{DelegateName, Email, InvitationToken};
use delegates::http::{Operation, handle};
use delegates::store::MemoryStore;
use delegates_tests::admin_token;
use delegates_tests::reminder_cases::{NoMail, TestMailer};
use lambda_http::http::Method;
use lambda_http::{Body, Request};
use proptest::prelude::*;

use super::app;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn email_validation_never_panics_and_keeps_its_promises(raw in "\\PC{0,40}|[a-zA-Z0-9.+_@\\-\r\n\t ]{0,300}") {
        if let Ok(email) = Email::parse(&raw) {
            prop_assert!(email.as_str().chars().count() <= 254);
            prop_assert!(!email.as_str().chars().any(char::is_control));
            prop_assert_eq!(email.as_str().trim(), email.as_str());
            prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email.clone());
            prop_assert_eq!(email.identity(), email.as_str().to_lowercase());
        }
    }

    #[test]
    fn name_validation_never_panics_and_keeps_its_promises(raw in "\\PC{0,120}|[\\x00-\\x7f\u{85}\u{2028}]{0,130}") {
        if let Ok(name) = DelegateName::parse(&raw) {
            let chars = name.as_str().chars().count();
            prop_assert!((1..=100).contains(&chars));
            prop_assert!(!name.as_str().chars().any(|c| c.is_control()));
            prop_assert_eq!(DelegateName::parse(name.as_str()).unwrap(), name.clone());
        }
    }

    #[test]
    fn token_parsing_never_panics(raw in "[A-Za-z0-9_\\-.=%!]{0,200}") {
        let _ = InvitationToken::parse(&raw);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn raw_request(
    method: Method,
    uri: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Option<Request> {
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri);
    builder = builder.header("authorization", format!("Bearer {}", admin_token("acme")));
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder.body(Body::Binary(body)).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn any_body_gets_an_answer_below_500(
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            "\\{\"name\":\"\\PC{0,20}\",\"email\":\"\\PC{0,30}\",\"notice_acknowledged\":(true|false|1|null),\"notice_version\":\"(2026-01|\\PC{0,5})\"(,\"\\PC{0,5}\":\\PC{0,5})?\\}".prop_map(String::into_bytes),
            "[\\[\\]{}\":,0-9a-z \\\\]{0,80}".prop_map(String::into_bytes),
        ],
        content_type in prop_oneof![Just("application/json"), Just("application/json; charset=utf-8"), Just("text/plain"), Just("")],
    ) {
        let app = app(MemoryStore::new(), TestMailer::new(NoMail), &[]);
        let content_type = (!content_type.is_empty()).then_some(content_type);
        for uri in ["/delegates", "/invitations/accept"] {
            if let Some(request) = raw_request(Method::POST, uri, content_type, body.clone()) {
                let status = runtime().block_on(handle(&app, request, Operation::ALL)).status();
                prop_assert!(status.as_u16() < 500, "{} {} -> {}", uri, String::from_utf8_lossy(&body), status);
            }
        }
    }

    #[test]
    fn any_path_and_query_gets_an_answer_below_500(
        path in "/[a-z/]{0,20}|/delegates/[0-9a-f\\-]{0,40}|/delegates/\\PC{0,10}",
        query in "(limit=[0-9\\-a-z]{0,5}|cursor=[A-Za-z0-9_\\-=%]{0,60}|&|[a-z=]{0,10}){0,4}",
        method in prop_oneof![Just(Method::GET), Just(Method::POST), Just(Method::DELETE), Just(Method::PUT), Just(Method::OPTIONS)],
    ) {
        let app = app(MemoryStore::new(), TestMailer::new(NoMail), &[]);
        let uri = format!("{path}?{query}");
        if let Some(request) = raw_request(method, &uri, None, Vec::new()) {
            let status = runtime().block_on(handle(&app, request, Operation::ALL)).status();
            prop_assert!(status.as_u16() < 500, "{} -> {}", uri, status);
        }
    }
}
