//! The SES v2 mailer, read back from moto.

use delegates::config::Sender;
use delegates::domain::Email;
use delegates::mail::{EmailMessage, Mailer, SesMailer, from_header};
use delegates_tests::aws::{sent_messages, verify_sender};

use super::Moto;

#[tokio::test]
async fn the_message_arrives_with_subject_recipients_encoded_sender_and_body() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    let sender = Sender {
        address: Email::parse("praxis@delegates.test").unwrap(),
        name: "Zoë's Praxis: Büro".into(),
    };
    verify_sender(&moto.ses, sender.address.as_str()).await;
    let mailer = SesMailer::new(moto.ses.clone(), &sender, None);
    let link = "https://portal.test/delegation/accept?token=abc.def.ghi";
    let message = EmailMessage {
        to: vec![Email::parse("Dana@Example.com").unwrap()],
        subject: "Ünïcode subject: invitation".into(),
        text: format!("Accept: {link}"),
        html: format!("<p><a href=\"{link}\">Accept</a></p>"),
    };
    mailer.send(&message).await.unwrap();

    let sent = sent_messages(&moto.endpoint).await;
    let received = sent
        .iter()
        .rev()
        .find(|m| m.to == ["Dana@Example.com"])
        .expect("moto recorded the message");
    assert_eq!(received.subject, "Ünïcode subject: invitation");
    assert_eq!(received.source, from_header(&sender));
    assert!(
        received.source.starts_with("=?utf-8?b?"),
        "{}",
        received.source
    );
    assert!(received.source.ends_with("<praxis@delegates.test>"));
    assert!(received.body.contains(link), "{}", received.body);
}

#[tokio::test]
async fn an_unverified_sender_is_rejected() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    let sender = Sender {
        address: Email::parse(&super::unique_address("nobody", "unverified.test")).unwrap(),
        name: "Nobody".into(),
    };
    let mailer = SesMailer::new(moto.ses.clone(), &sender, None);
    let message = EmailMessage {
        to: vec![Email::parse("dana@example.com").unwrap()],
        subject: "s".into(),
        text: "t".into(),
        html: "<p>h</p>".into(),
    };
    let error = mailer.send(&message).await.unwrap_err();
    assert!(
        matches!(error, delegates::mail::MailError::Rejected(_)),
        "{error:?}"
    );
}
