//! Outgoing email behind a narrow trait, and the messages the product sends.

#[cfg(feature = "local")]
mod outbox;
mod ses;

use std::future::Future;

use askama::Template;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::config::Sender;
use crate::domain::{Delegate, Email};

#[cfg(feature = "local")]
pub use outbox::Outbox;
pub use ses::SesMailer;

/// A message ready to send: one subject, a plain-text and an HTML body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    /// Recipients.
    pub to: Vec<Email>,
    /// Subject line (UTF-8; the transport encodes it).
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// Why a message was not sent. Either way, nothing was delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The mail service refused the message (unverified sender, sandbox recipient): 502.
    #[error("the mail service rejected the message: {0}")]
    Rejected(String),
    /// The mail service could not take the message now (throttling, outage): 503.
    #[error("the mail service is unavailable: {0}")]
    Unavailable(String),
}

/// Sends email.
pub trait Mailer: Send + Sync + 'static {
    /// Sends one message from the configured sender.
    fn send(&self, message: &EmailMessage) -> impl Future<Output = Result<(), MailError>> + Send;
}

/// The `From` header value for `sender`: the display name quoted or RFC 2047-encoded as needed,
/// so that a colon, quotes or non-ASCII letters arrive intact.
pub fn from_header(sender: &Sender) -> String {
    use email_encoding::headers::{quoted_string, writer::EmailWriter};
    let mut name = String::new();
    {
        let mut writer = EmailWriter::new(&mut name, "From: ".len(), 0, false);
        // Writing into a String cannot fail.
        let _ = quoted_string::encode(&sender.name, &mut writer);
    }
    // One logical line: SES takes the header value unfolded.
    let name = name.replace("\r\n", "");
    format!("{name} <{}>", sender.address)
}

/// A long date for people, in UTC: `10 December 2026, 17:44 UTC`.
pub fn human_date(at: OffsetDateTime) -> String {
    let format =
        format_description!("[day padding:none] [month repr:long] [year], [hour]:[minute] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.to_string())
}

/// The one-paragraph summary of the access notice used in invitations.
pub const NOTICE_SUMMARY: &str = "Delegates can see the account's data, including customer \
information and possibly protected health information, and everything a delegate does in the \
account counts as the inviting administrator's own action.";

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationHtml<'a> {
    subject: &'a str,
    delegate_name: &'a str,
    admin_email: &'a str,
    notice_summary: &'a str,
    accept_link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "invitation.txt", escape = "none")]
struct InvitationText<'a> {
    delegate_name: &'a str,
    admin_email: &'a str,
    notice_summary: &'a str,
    accept_link: &'a str,
    expires: &'a str,
}

/// The invitation email for a new delegate. `accept_link` carries the token.
pub fn invitation_email(delegate: &Delegate, accept_link: &str) -> EmailMessage {
    let subject = format!(
        "{} invited you as a delegate user",
        delegate.invited_by.email
    );
    let expires = human_date(delegate.invitation_expires_at);
    let html = InvitationHtml {
        subject: &subject,
        delegate_name: delegate.name.as_str(),
        admin_email: delegate.invited_by.email.as_str(),
        notice_summary: NOTICE_SUMMARY,
        accept_link,
        expires: &expires,
    };
    let text = InvitationText {
        delegate_name: delegate.name.as_str(),
        admin_email: delegate.invited_by.email.as_str(),
        notice_summary: NOTICE_SUMMARY,
        accept_link,
        expires: &expires,
    };
    // Rendering fixed templates with string fields cannot fail.
    let text = text.render().expect("invitation text template renders");
    let html = html.render().expect("invitation HTML template renders");
    EmailMessage {
        to: vec![delegate.email.clone()],
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::domain::{
        AccountId, DelegateId, DelegateName, Inviter, NoticeAcknowledgement, StoredStatus,
    };

    fn delegate(name: &str) -> Delegate {
        let at = datetime!(2026-12-03 17:44 UTC);
        Delegate {
            id: DelegateId::generate(),
            account_id: AccountId::parse("acme").unwrap(),
            name: DelegateName::parse(name).unwrap(),
            email: Email::parse("Bob@Example.com").unwrap(),
            status: StoredStatus::Pending,
            invited_by: Inviter {
                sub: "admin-1".into(),
                email: Email::parse("admin@acme.test").unwrap(),
            },
            invited_at: at,
            invitation_expires_at: at + time::Duration::days(7),
            accepted_at: None,
            notice: NoticeAcknowledgement {
                version: "2026-01".into(),
                acknowledged_at: at,
                acknowledged_by: "admin-1".into(),
            },
        }
    }

    #[test]
    fn the_invitation_names_the_admin_the_notice_the_expiry_and_the_link() {
        let link = "https://portal.test/delegation/accept?token=abc.def.ghi";
        let email = invitation_email(&delegate("Bob Builder"), link);
        assert_eq!(email.to, vec![Email::parse("Bob@Example.com").unwrap()]);
        assert_eq!(
            email.subject,
            "admin@acme.test invited you as a delegate user"
        );
        for body in [&email.text, &email.html] {
            assert!(body.contains("Bob Builder"));
            assert!(body.contains("admin@acme.test"));
            assert!(body.contains("protected health information"));
            assert!(body.contains("10 December 2026, 17:44 UTC"));
            assert!(body.contains(link));
        }
    }

    #[test]
    fn html_in_names_is_escaped_in_the_html_body_only() {
        let email = invitation_email(
            &delegate("<script>alert(1)</script> & co"),
            "https://p.test/x",
        );
        assert!(!email.html.contains("<script>"));
        assert!(email.html.contains("&#60;script&#62;") || email.html.contains("&lt;script&gt;"));
        assert!(email.text.contains("<script>alert(1)</script> & co"));
    }

    /// Decodes a display name written by [`from_header`]: an atom, a quoted string or RFC 2047
    /// encoded words.
    fn decode_display_name(header: &str) -> String {
        use base64::Engine;
        let name = header.rsplit_once(" <").unwrap().0;
        if let Some(quoted) = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
            return quoted.replace("\\\"", "\"");
        }
        if !name.starts_with("=?") {
            return name.to_owned();
        }
        let mut bytes = Vec::new();
        for word in name.split_whitespace() {
            let encoded = word
                .strip_prefix("=?utf-8?b?")
                .unwrap()
                .strip_suffix("?=")
                .unwrap();
            bytes.extend(
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .unwrap(),
            );
        }
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn from_header_quotes_or_encodes_the_display_name() {
        let sender = |name: &str| Sender {
            address: Email::parse("no-reply@acme.test").unwrap(),
            name: name.to_owned(),
        };
        assert_eq!(from_header(&sender("Acme")), "Acme <no-reply@acme.test>");
        for name in [
            "Acme: Support",
            "Zoë's Praxis: Büro",
            "\"Quoted\" <name>",
            "Ünïcödé name that is long enough to need more than one encoded word in the header",
        ] {
            let header = from_header(&sender(name));
            assert!(header.ends_with(" <no-reply@acme.test>"), "{header}");
            assert!(!header.contains(['\r', '\n']), "{header}");
            assert!(header.is_ascii(), "{header}");
            assert_eq!(decode_display_name(&header), name, "{header}");
        }
    }
}
