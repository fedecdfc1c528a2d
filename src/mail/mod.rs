//! Outgoing mail (invitations, one-time passcodes) through the configured
//! transport: a file outbox (one `.eml` per message, the default) or SMTP,
//! both via lettre. Texts are minijinja templates (plain text, not escaped).

use std::sync::LazyLock;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use minijinja::Environment;
use serde_json::json;

use crate::config::{MailConfig, MailTransport, SmtpTls};
use crate::error::{Error, Result};
use crate::model::Invitation;
use crate::model::Tenant;

enum Transport {
    File(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("invitation.txt", include_str!("templates/invitation.txt")),
        ("invitation_cc.txt", include_str!("templates/invitation_cc.txt")),
        ("passcode.txt", include_str!("templates/passcode.txt")),
        ("password_reset.txt", include_str!("templates/password_reset.txt")),
    ] {
        // A broken built-in template is a bug: its mails fail (render names
        // it), the rest still go out.
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, "built-in mail template does not parse: {e:#}");
        }
    }
    env
});

fn render(name: &str, context: serde_json::Value) -> Result<String> {
    TEMPLATES.get_template(name).and_then(|t| t.render(context)).map_err(|e| Error::Internal(format!("mail template {name}: {e:#}")))
}

fn mailbox(address: &str) -> Result<Mailbox> {
    address.parse().map_err(|e| Error::Invalid(format!("'{address}' is not a mail address: {e}")))
}

impl Mailer {
    pub fn new(config: &MailConfig) -> Result<Mailer> {
        let from = config.from.parse().map_err(|e| Error::Invalid(format!("mail.from '{}': {e}", config.from)))?;
        let transport = match config.transport {
            MailTransport::File => {
                std::fs::create_dir_all(&config.outbox)
                    .map_err(|e| Error::Internal(format!("mail.outbox {}: {e}", config.outbox.display())))?;
                Transport::File(AsyncFileTransport::new(&config.outbox))
            }
            MailTransport::Smtp => {
                let host = config.smtp_host.as_str();
                let builder = match config.smtp_tls {
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
                    SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
                    SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)),
                }
                .map_err(|e| Error::Invalid(format!("mail.smtp_host '{host}': {e}")))?;
                let mut builder = builder.port(config.smtp_port);
                if let (Some(user), Some(password)) = (&config.smtp_username, &config.smtp_password) {
                    builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_string()));
                }
                Transport::Smtp(builder.build())
            }
        };
        Ok(Mailer { transport, from })
    }

    fn transport_name(&self) -> &'static str {
        match &self.transport {
            Transport::File(_) => "file",
            Transport::Smtp(_) => "smtp",
        }
    }

    /// Sends a plain-text message. 8bit encoding keeps links and codes
    /// readable in the raw message (lettre would pick quoted-printable for
    /// any line over 76 characters, which splits links); it is valid for
    /// lines under 998 octets, else we let lettre encode.
    pub async fn send(&self, to: &str, cc: &[String], subject: &str, text: String) -> Result<()> {
        let mut builder = Message::builder().from(self.from.clone()).to(mailbox(to)?).subject(subject);
        for address in cc {
            builder = builder.cc(mailbox(address)?);
        }
        let text = text.replace("\r\n", "\n").replace('\r', "\n").replace('\n', "\r\n");
        let body = if text.split("\r\n").all(|l| l.len() < 998) && !text.contains('\0') {
            Body::dangerous_pre_encoded(text.into_bytes(), ContentTransferEncoding::EightBit)
        } else {
            Body::new(text)
        };
        let message = builder.header(ContentType::TEXT_PLAIN).body(body).map_err(|e| Error::Internal(format!("building mail: {e}")))?;
        let sent = match &self.transport {
            Transport::File(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Transport::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
        };
        let result = if sent.is_ok() { "sent" } else { "failed" };
        metrics::counter!("b2b_idp_mail_total", "transport" => self.transport_name(), "result" => result).increment(1);
        // The transport's words (relay names, its answers) go to the log only.
        sent.map_err(|e| {
            let reference = uuid::Uuid::new_v4();
            tracing::warn!(%reference, error = %e, "mail not sent");
            Error::Upstream(format!("the mail to {to} could not be sent (reference {reference})"))
        })
    }

    /// The invitation mail: tenant name, inviter, custom message, redeem link,
    /// to the invitee alone; a CC recipient gets a notice without the link (the
    /// link redeems the invitation, so only the invitee may see it).
    pub async fn invitation(&self, tenant: &Tenant, inv: &Invitation, inviter: &str, redeem_url: &str) -> Result<()> {
        let text = render(
            "invitation.txt",
            json!({"tenant_name": tenant.display_name, "inviter": inviter, "message": inv.message, "redeem_url": redeem_url}),
        )?;
        let subject = format!("You're invited to collaborate with {}", tenant.display_name);
        self.send(&inv.email, &[], &subject, text).await?;
        for cc in &inv.cc {
            let text = render(
                "invitation_cc.txt",
                json!({"tenant_name": tenant.display_name, "inviter": inviter, "message": inv.message, "invitee": inv.email}),
            )?;
            self.send(cc, &[], &format!("{} was invited to {}", inv.email, tenant.display_name), text).await?;
        }
        Ok(())
    }

    /// A one-time passcode; the subject says what it is for (docs/contract.md, "Mail").
    pub async fn passcode(&self, tenant: &Tenant, email: &str, code: &str, minutes: i64) -> Result<()> {
        let text = render("passcode.txt", json!({"tenant_name": tenant.display_name, "code": code, "minutes": minutes}))?;
        let subject = format!("{} account verification code", tenant.display_name);
        self.send(email, &[], &subject, text).await
    }

    /// A member's password-reset link.
    pub async fn password_reset(&self, tenant: &Tenant, email: &str, url: &str, minutes: i64) -> Result<()> {
        let text = render("password_reset.txt", json!({"tenant_name": tenant.display_name, "url": url, "minutes": minutes}))?;
        self.send(email, &[], &format!("{} password reset", tenant.display_name), text).await
    }
}
