use std::sync::{Arc, LazyLock};

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::SdkError;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::{EmailMessage, MailError, Mailer, from_header};
use crate::config::Sender;

type ClientOnFirstUse = LazyLock<Client, Box<dyn FnOnce() -> Client + Send>>;

/// Sends through Amazon SES v2 `SendEmail` with simple content (UTF-8 subject, text and HTML).
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Arc<ClientOnFirstUse>,
    from: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// A mailer sending from `sender` through `client`, optionally with an SES configuration set.
    pub fn new(client: Client, sender: &Sender, configuration_set: Option<String>) -> Self {
        Self::with_client(
            LazyLock::new(Box::new(move || client)),
            sender,
            configuration_set,
        )
    }

    /// Like [`SesMailer::new`], but the client is built from `sdk` when first used: a function
    /// that never sends mail does not pay for building it at start-up.
    pub fn on_first_use(
        sdk: aws_config::SdkConfig,
        sender: &Sender,
        configuration_set: Option<String>,
    ) -> Self {
        let build = move || Client::new(&sdk);
        Self::with_client(LazyLock::new(Box::new(build)), sender, configuration_set)
    }

    fn with_client(
        client: ClientOnFirstUse,
        sender: &Sender,
        configuration_set: Option<String>,
    ) -> Self {
        Self {
            client: Arc::new(client),
            from: from_header(sender),
            configuration_set,
        }
    }

    /// The SDK client (for warming the connection at start-up).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn utf8(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Rejected(e.to_string()))
}

impl Mailer for SesMailer {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        let destination = Destination::builder()
            .set_to_addresses(Some(message.to.iter().map(|to| to.to_string()).collect()))
            .build();
        let simple = Message::builder()
            .subject(utf8(&message.subject)?)
            .body(
                Body::builder()
                    .text(utf8(&message.text)?)
                    .html(utf8(&message.html)?)
                    .build(),
            )
            .build();
        let result = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(destination)
            .content(EmailContent::builder().simple(simple).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await;
        result.map(|_| ()).map_err(classify)
    }
}

/// Refusals the admin cannot fix by retrying are `Rejected`; the rest are `Unavailable`.
fn classify(error: SdkError<SendEmailError>) -> MailError {
    let text = aws_sdk_sesv2::error::DisplayErrorContext(&error).to_string();
    match error.as_service_error() {
        Some(
            SendEmailError::MessageRejected(_)
            | SendEmailError::MailFromDomainNotVerifiedException(_)
            | SendEmailError::AccountSuspendedException(_)
            | SendEmailError::SendingPausedException(_)
            | SendEmailError::BadRequestException(_)
            | SendEmailError::NotFoundException(_),
        ) => MailError::Rejected(text),
        _ => MailError::Unavailable(text),
    }
}
