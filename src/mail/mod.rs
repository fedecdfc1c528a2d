//! Outgoing mail (invitations, one-time passcodes, password resets) through
//! the configured transport: a file outbox (one `.eml` per message, the
//! default) or SMTP, both via lettre. Each mail is multipart: plain text
//! (`.txt` templates, not escaped) and HTML (`.html`, escaped) with the
//! tenant's company branding, in the reader's language (the catalogs'
//! `mail-*` messages).

use std::sync::LazyLock;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use minijinja::Environment;
use serde_json::json;

use crate::config::{MailConfig, MailTransport, SmtpTls};
use crate::error::{Error, Result};
use crate::i18n::{self, Lang};
use crate::model::Invitation;
use crate::model::Tenant;

enum Transport {
    File(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// The public base URL: where the mails' branding images are.
    base_url: String,
}

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.add_function("t", i18n::template_function);
    for (name, source) in [
        ("base.html", include_str!("templates/base.html")),
        ("invitation.txt", include_str!("templates/invitation.txt")),
        ("invitation.html", include_str!("templates/invitation.html")),
        ("invitation_cc.txt", include_str!("templates/invitation_cc.txt")),
        ("invitation_cc.html", include_str!("templates/invitation_cc.html")),
        ("passcode.txt", include_str!("templates/passcode.txt")),
        ("passcode.html", include_str!("templates/passcode.html")),
        ("password_reset.txt", include_str!("templates/password_reset.txt")),
        ("password_reset.html", include_str!("templates/password_reset.html")),
    ] {
        // A broken built-in template is a bug: its mails fail (render names
        // it), the rest still go out.
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, "built-in mail template does not parse: {e:#}");
        }
    }
    env
});

fn render(name: &str, context: &serde_json::Value) -> Result<String> {
    TEMPLATES.get_template(name).and_then(|t| t.render(context)).map_err(|e| Error::Internal(format!("mail template {name}: {e:#}")))
}

/// One mail's words: its subject and both of its parts.
struct Letter {
    subject: String,
    text: String,
    html: String,
}

fn mailbox(address: &str) -> Result<Mailbox> {
    address.parse().map_err(|e| Error::Invalid(format!("'{address}' is not a mail address: {e}")))
}

impl Mailer {
    pub fn new(config: &MailConfig, base_url: &str) -> Result<Mailer> {
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
        Ok(Mailer { transport, from, base_url: base_url.trim_end_matches('/').to_string() })
    }

    fn transport_name(&self) -> &'static str {
        match &self.transport {
            Transport::File(_) => "file",
            Transport::Smtp(_) => "smtp",
        }
    }

    /// Writes `template` (`.txt` and `.html`) for `tenant` in `lang`: the
    /// tenant's name and branding (that language's look) join `context`.
    fn letter(
        &self,
        tenant: &Tenant,
        lang: Lang,
        template: &str,
        subject: (&str, &[(&str, &str)]),
        context: serde_json::Value,
    ) -> Result<Letter> {
        let look = tenant.branding.look(lang.tag());
        let subject = i18n::text_in(lang, subject.0, subject.1);
        let mut context = context;
        context["lang"] = json!(lang.tag());
        context["subject"] = json!(subject);
        context["tenant_name"] = json!(tenant.display_name);
        context["logo_url"] = json!(look.banner_logo.as_ref().map(|i| format!("{}/{}", self.base_url, i.relative_url(&tenant.id))));
        context["brand_color"] = json!(look.color());
        Ok(Letter { subject, text: render(&format!("{template}.txt"), &context)?, html: render(&format!("{template}.html"), &context)? })
    }

    /// Sends a letter (text and HTML). The text part is 8bit, which keeps
    /// links and codes readable in the raw message (lettre would pick
    /// quoted-printable for any line over 76 characters, which splits
    /// links); that is valid for lines under 998 octets, else lettre
    /// encodes.
    async fn send(&self, to: &str, letter: Letter) -> Result<()> {
        let builder = Message::builder().from(self.from.clone()).to(mailbox(to)?).subject(letter.subject);
        let text = letter.text.replace("\r\n", "\n").replace('\r', "\n").replace('\n', "\r\n");
        let body = if text.split("\r\n").all(|l| l.len() < 998) && !text.contains('\0') {
            Body::dangerous_pre_encoded(text.into_bytes(), ContentTransferEncoding::EightBit)
        } else {
            Body::new(text)
        };
        let parts = MultiPart::alternative()
            .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(body))
            .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(letter.html));
        let message = builder.multipart(parts).map_err(|e| Error::Internal(format!("building mail: {e}")))?;
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
    pub async fn invitation(&self, tenant: &Tenant, inv: &Invitation, lang: Lang, inviter: &str, redeem_url: &str) -> Result<()> {
        let name = tenant.display_name.as_str();
        let context = json!({"inviter": inviter, "message": inv.message, "redeem_url": redeem_url});
        let letter = self.letter(tenant, lang, "invitation", ("mail-invitation-subject", &[("tenant", name)]), context)?;
        self.send(&inv.email, letter).await?;
        for cc in &inv.cc {
            let context = json!({"inviter": inviter, "message": inv.message, "invitee": inv.email});
            let subject = ("mail-invitation-cc-subject", &[("invitee", inv.email.as_str()), ("tenant", name)][..]);
            self.send(cc, self.letter(tenant, lang, "invitation_cc", subject, context)?).await?;
        }
        Ok(())
    }

    /// A one-time passcode; the subject says what it is for (docs/contract.md, "Mail").
    pub async fn passcode(&self, tenant: &Tenant, lang: Lang, email: &str, code: &str, minutes: i64) -> Result<()> {
        let context = json!({"code": code, "minutes": minutes.to_string()});
        let subject = ("mail-passcode-subject", &[("tenant", tenant.display_name.as_str())][..]);
        self.send(email, self.letter(tenant, lang, "passcode", subject, context)?).await
    }

    /// A member's password-reset link.
    pub async fn password_reset(&self, tenant: &Tenant, lang: Lang, email: &str, url: &str, minutes: i64) -> Result<()> {
        let context = json!({"url": url, "minutes": minutes.to_string()});
        let subject = ("mail-reset-subject", &[("tenant", tenant.display_name.as_str())][..]);
        self.send(email, self.letter(tenant, lang, "password_reset", subject, context)?).await
    }
}
