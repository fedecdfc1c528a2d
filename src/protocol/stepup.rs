//! Step-up to multi-factor during a sign-in, when conditional access (or
//! `acr_values=2`) asks for it: a guest whose partner's MFA this tenant
//! trusts is sent home for it; everyone else uses an authenticator app here
//! (enrolling first if they have none).

use crate::audit::signin::{code, step, SignIn, Subject};
use crate::error::{Error, Result};
use crate::federation::{self, Next};
use crate::i18n;
use crate::idp::Idp;
use crate::mfa::{self, Enrolment};
use crate::model::{AuthRequest, Session};
use crate::model::{Interaction, Purpose, Step};
use crate::model::{Tenant, User};
use crate::signin::log;
use crate::signin::session;
use crate::util::{now, random_token, sha256_hex};
use crate::vault::context;

pub enum StepUp {
    GoHome(String),
    Enrol { interaction_id: String, enrolment: Enrolment },
    Prompt { interaction_id: String },
}

/// Starts the second factor for `request`.
pub async fn begin(idp: &Idp, tenant: &Tenant, request: &AuthRequest, user: &User, browser: &str, source: &str) -> Result<StepUp> {
    let trusted_home = user
        .external
        .as_ref()
        .and_then(|e| e.home.as_ref())
        .filter(|h| h.method == crate::model::HomeMethod::Federation)
        .is_some_and(|h| tenant.cross_tenant_access.trusts_mfa_of(&h.tenant_id, &h.issuer));
    if trusted_home {
        return match federation::go_home(idp, tenant, request, user, browser, true).await? {
            Next::GoHome(url) => Ok(StepUp::GoHome(url)),
            _ => Err(Error::Internal("a trusted partner's MFA needs a federated home".into())),
        };
    }
    mfa::locked(idp, tenant, user, source).await?;
    let enrol_secret = user.totp.is_none().then(mfa::new_secret);
    let interaction = Interaction {
        id: random_token(),
        tenant_id: tenant.id.clone(),
        browser: sha256_hex(browser),
        purpose: Purpose::SignIn { request_id: request.id.clone(), user_id: user.id.clone() },
        step: Step::Mfa {
            enrol_secret: enrol_secret.as_deref().map(|s| idp.vault.seal(s, &context::totp(&tenant.id, &user.id))).transpose()?,
        },
        expires_at: now() + idp.config.tokens.interaction_ttl,
    };
    idp.store.put_interaction(&interaction).await?;
    Ok(match enrol_secret {
        Some(secret) => StepUp::Enrol { enrolment: mfa::enrolment(tenant, user, &secret)?, interaction_id: interaction.id },
        None => StepUp::Prompt { interaction_id: interaction.id },
    })
}

/// What the second-factor form's answer leads to.
pub enum Checked {
    /// MFA done: continue the sign-in request with the upgraded session.
    Done { session: Session, request_id: String },
    /// Enrolled: show the recovery codes once, then continue.
    Enrolled { session: Session, request_id: String, recovery_codes: Vec<String> },
    /// Wrong code: ask again (enrolment shown again if it was one).
    Retry { interaction_id: String, why: Retry, enrolment: Option<Enrolment> },
}

/// Why the second-factor page is shown again (the page words it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    WrongCode,
    /// The first code of a new app was wrong: often the phone's clock.
    WrongEnrolmentCode,
    WrongRecoveryCode,
    /// A recovery code worked: the lost app is gone, enrol a new one.
    OldAppRemoved,
}

impl Retry {
    /// For the sign-in log.
    pub fn reason(self) -> &'static str {
        match self {
            Retry::WrongCode | Retry::WrongEnrolmentCode => "That code is not right.",
            Retry::WrongRecoveryCode => "That recovery code is not valid.",
            Retry::OldAppRemoved => "Your old authenticator app is removed. Set up the new one now.",
        }
    }
}

/// Where a form came from: the browser (cookie) and the client address.
pub struct Origin<'a> {
    pub browser: &'a str,
    pub source: &'a str,
}

/// Checks a TOTP code (or a recovery code, which removes the lost app and
/// starts a new enrolment).
pub async fn check(
    idp: &Idp,
    tenant: &Tenant,
    id: &str,
    origin: Origin<'_>,
    session: Option<Session>,
    otp: Option<&str>,
    recovery_code: Option<&str>,
) -> Result<Checked> {
    let (browser, source) = (origin.browser, origin.source);
    let mut ix = federation::interaction(idp, tenant, id, browser).await?;
    let (Purpose::SignIn { request_id, user_id }, Step::Mfa { enrol_secret }) = (ix.purpose.clone(), ix.step.clone()) else {
        return Err(Error::Invalid(i18n::text("step-out-of-order-app", &[])));
    };
    let session = session.filter(|s| s.user_id == user_id).ok_or_else(|| Error::Invalid(i18n::text("session-ended", &[])))?;
    let session_steps = session.steps.clone();
    let user = idp
        .store
        .user(&tenant.id, &user_id)
        .await?
        .filter(|u| u.enabled)
        .ok_or_else(|| Error::Forbidden(i18n::text("error-account-disabled", &[])))?;

    if let Some(code) = recovery_code.filter(|c| !c.trim().is_empty()) {
        if !mfa::recover(idp, tenant, &user, code, source).await? {
            return Ok(Checked::Retry { interaction_id: ix.id, why: Retry::WrongRecoveryCode, enrolment: None });
        }
        let secret = mfa::new_secret();
        ix.step = Step::Mfa { enrol_secret: Some(idp.vault.seal(&secret, &context::totp(&tenant.id, &user.id))?) };
        idp.store.put_interaction(&ix).await?;
        let enrolment = Some(mfa::enrolment(tenant, &user, &secret)?);
        return Ok(Checked::Retry { interaction_id: ix.id, why: Retry::OldAppRemoved, enrolment });
    }
    let otp = otp.unwrap_or_default();
    let result = second_factor(idp, tenant, ix, &user, session, enrol_secret, otp, source).await;
    let failed = match &result {
        Ok(Checked::Retry { why, .. }) => Some((code::MFA_FAILED, why.reason().to_string())),
        Err(e @ Error::TooManyAttempts(_)) => Some((code::LOCKED, e.to_string())),
        Ok(_) => {
            let label = crate::telemetry::tenant_label(&tenant.name, tenant.unmanaged);
            crate::telemetry::count_for_tenant("b2b_idp_mfa_satisfied_total", label, [("where", "local"), ("", "")]);
            None
        }
        Err(_) => None,
    };
    if let Some((code, reason)) = failed {
        let steps = [&session_steps[..], &[step("Software OATH token", "Authenticator app", true, false, reason.clone())]].concat();
        let mut sign_in = SignIn::new(tenant, Subject::user(&user), "", "").failed(code, reason).with_steps(&steps);
        (sign_in.app_id, sign_in.app_name) = log::app_of(idp, tenant, &request_id).await;
        sign_in.mfa_required = true;
        log::failure(idp, sign_in).await;
    }
    result
}

/// The code (or the first code of an enrolment) checked.
#[allow(clippy::too_many_arguments)]
async fn second_factor(
    idp: &Idp,
    tenant: &Tenant,
    ix: Interaction,
    user: &User,
    session: Session,
    enrol_secret: Option<crate::model::Protected>,
    otp: &str,
    source: &str,
) -> Result<Checked> {
    let Purpose::SignIn { request_id, .. } = ix.purpose.clone() else {
        return Err(Error::Invalid(i18n::text("step-out-of-order-app", &[])));
    };
    let enrol_secret = enrol_secret.map(|sealed| idp.vault.open(&sealed, &context::totp(&tenant.id, &user.id))).transpose()?;
    match enrol_secret {
        Some(secret) => match mfa::enrol(idp, tenant, user, secret.expose(), otp, source).await? {
            Some(recovery_codes) => {
                idp.store.delete_interaction(&ix.id).await?;
                let session = session::add_local_mfa(idp, session).await?;
                Ok(Checked::Enrolled { session, request_id, recovery_codes })
            }
            None => Ok(Checked::Retry {
                interaction_id: ix.id,
                why: Retry::WrongEnrolmentCode,
                enrolment: Some(mfa::enrolment(tenant, user, secret.expose())?),
            }),
        },
        None => {
            if !mfa::verify(idp, tenant, user, otp, source).await? {
                return Ok(Checked::Retry { interaction_id: ix.id, why: Retry::WrongCode, enrolment: None });
            }
            idp.store.delete_interaction(&ix.id).await?;
            tracing::info!(tenant = %tenant.id, user = %user.id, "second factor verified");
            Ok(Checked::Done { session: session::add_local_mfa(idp, session).await?, request_id })
        }
    }
}
