//! The review reminder against the in-memory store and against DynamoDB and SES on moto, and the
//! `review-reminder` function binary run through the Lambda Runtime API with both event shapes.

mod function;

use delegates::config::Sender;
use delegates::domain::Email;
use delegates::mail::SesMailer;
use delegates::store::{DynamoStore, MemoryStore};
use delegates_tests::aws::{fresh_table, moto_endpoint, sdk_config, verify_sender};
use delegates_tests::reminder_cases::{NoMail, TestMailer};

/// DynamoDB on a fresh table, and an SES mailer with a verified sender.
async fn moto() -> Option<(DynamoStore, TestMailer<SesMailer>)> {
    moto_endpoint()?;
    let sdk = sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = fresh_table(&dynamodb).await;
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    let sender = Sender {
        address: Email::parse("reminders@delegates.test").unwrap(),
        name: "Delegate Access".into(),
    };
    verify_sender(&ses, sender.address.as_str()).await;
    let store = DynamoStore::new(dynamodb, table, time::Duration::days(30));
    Some((store, TestMailer::new(SesMailer::new(ses, &sender, None))))
}

macro_rules! reminder_cases {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $case() {
                let mailer = super::TestMailer::new(super::NoMail);
                delegates_tests::reminder_cases::$case(&super::MemoryStore::new(), &mailer).await;
            })*
        }
        mod dynamo {
            $(#[tokio::test]
            async fn $case() {
                let Some((store, mailer)) = super::moto().await else { return };
                delegates_tests::reminder_cases::$case(&store, &mailer).await;
            })*
        }
    };
}

reminder_cases!(
    one_email_per_account_listing_every_delegate,
    at_most_one_reminder_per_account_per_period,
    a_failing_account_does_not_block_the_others,
    a_leased_account_is_left_to_the_run_holding_it,
);
