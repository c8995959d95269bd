//! Group 6: email safety. Control characters never reach a header, HTML in names is escaped in
//! every email, and the link carries only the token.

use delegates::domain::InvitationToken;
use delegates::mail::Outbox;
use delegates::reminder::review_email;
use delegates::store::MemoryStore;
use delegates_tests::reminder_cases::{NoMail, TestMailer};
use delegates_tests::{admin_token, invitation_token_in, new_delegate, read_outbox};

use super::{app, assert_problem, json, post_delegate};

#[tokio::test]
async fn control_characters_in_names_and_emails_are_refused() {
    let app = app(MemoryStore::new(), TestMailer::new(NoMail), &[]);
    let admin = admin_token("acme");
    let names = [
        "Eve\r\nBcc: victim@example.com",
        "Eve\nSubject: hi",
        "Eve\rX",
        "Eve\u{0}",
        "Eve\u{7}",
        "Eve\u{1b}[31m",
        "Eve\u{7f}",
        "Eve\u{85}next line",
        "Eve\u{2028}X",
        "Eve\u{2029}X",
        "Eve\tX",
    ];
    let emails = [
        "eve@example.com\r\nBcc: victim@example.com",
        "eve@example.com\nX: y",
        "eve\r@example.com",
        "eve@exa\u{0}mple.com",
        "\"eve\r\n\"@example.com",
    ];
    for name in names {
        let response = post_delegate(&app, &admin, &new_delegate(name, "eve@example.com")).await;
        assert_problem(&response, 400, name);
    }
    for email in emails {
        let response = post_delegate(&app, &admin, &new_delegate("Eve", email)).await;
        assert_problem(&response, 400, email);
    }
    assert!(app.mailer.messages().is_empty());
    println!(
        "email safety, control characters: {} cases",
        names.len() + emails.len()
    );
}

#[tokio::test]
async fn html_is_escaped_and_the_link_carries_only_the_token() {
    let outbox_dir = tempfile::tempdir().unwrap();
    let config = delegates_tests::test_config();
    let outbox = Outbox::new(outbox_dir.path(), &config.sender).unwrap();
    let app = app(MemoryStore::new(), outbox, &[]);
    let admin = admin_token("acme");
    let hostile = "<img src=x onerror=alert(1)> \"Eve\" & 'co' </td>";
    let response = post_delegate(&app, &admin, &new_delegate(hostile, "eve@example.com")).await;
    assert_eq!(response.status(), 201);
    let sent = read_outbox(outbox_dir.path());
    assert_eq!(sent.len(), 1);
    let email = &sent[0];
    assert!(!email.html.contains("<img"), "{}", email.html);
    assert!(!email.html.contains("</td>"));
    assert!(
        email.text.contains(hostile),
        "the text body keeps the name as text"
    );
    assert!(!email.subject.contains('\n') && !email.from.contains('\n'));

    // The link: the portal's accept page with one parameter, the token, and nothing else.
    let token = invitation_token_in(&email.text).unwrap();
    let link = format!("https://portal.test/delegation/accept?token={token}");
    assert!(email.text.contains(&link));
    let after_link = email.text.split(&link).nth(1).unwrap();
    assert!(
        after_link.starts_with(['\r', '\n', ' ']),
        "nothing follows the token: {after_link:?}"
    );
    assert!(InvitationToken::parse(&token).is_ok());
    assert!(!token.contains("eve") && !link.contains("example.com"));

    // The review reminder escapes the same names.
    let delegates = app
        .store
        .list(
            &delegates::domain::AccountId::parse("acme").unwrap(),
            10,
            None,
        )
        .await;
    use delegates::store::DelegateStore;
    let delegates = delegates.unwrap().items;
    let review = review_email(
        &delegates[0].account_id,
        &delegates,
        "https://portal.test",
        time::OffsetDateTime::now_utc(),
    );
    assert!(
        !review.html.contains("<img") && !review.html.contains("</td> "),
        "{}",
        review.html
    );
    assert!(
        json(&response)["name"].as_str().unwrap().contains("<img"),
        "the API returns the name as given"
    );
    println!("email safety, escaping and link: 8 checks");
}
