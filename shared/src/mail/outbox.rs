use std::io::{self, Write};
use std::path::{Path, PathBuf};

use lettre::message::{Mailbox, MultiPart};

use super::{EmailMessage, MailError, Mailer};
use crate::config::Sender;

/// Writes each message as an RFC 5322 `.eml` file into a folder (the local server's mail).
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
    from: Mailbox,
}

impl Outbox {
    /// An outbox in `dir` (created if missing) with `sender` as From.
    pub fn new(dir: impl Into<PathBuf>, sender: &Sender) -> io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let address = sender
            .address
            .as_str()
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("sender: {e}")))?;
        Ok(Self {
            dir,
            from: Mailbox::new(Some(sender.name.clone()), address),
        })
    }

    /// The folder messages are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Builds the full RFC 5322 message.
    pub fn format(&self, message: &EmailMessage) -> Result<Vec<u8>, MailError> {
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .subject(message.subject.clone());
        for to in &message.to {
            let address = to
                .as_str()
                .parse()
                .map_err(|e| MailError::Rejected(format!("recipient: {e}")))?;
            builder = builder.to(Mailbox::new(None, address));
        }
        let email = builder
            .multipart(MultiPart::alternative_plain_html(
                message.text.clone(),
                message.html.clone(),
            ))
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        Ok(email.formatted())
    }
}

impl Mailer for Outbox {
    async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        let bytes = self.format(message)?;
        let name = format!("{}.eml", uuid::Uuid::now_v7());
        let temporary = self.dir.join(format!(".{name}.tmp"));
        let write = || -> io::Result<()> {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&temporary, self.dir.join(&name))
        };
        write().map_err(|e| MailError::Unavailable(format!("cannot write to the outbox: {e}")))
    }
}
