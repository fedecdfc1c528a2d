//! Invitations (Microsoft Graph's `invitation`): creating one creates the
//! guest user at once, checks the tenant's refusals, mails the redeem link,
//! and redeems at once when the inviter belongs to the invitee's home.

use serde::{Deserialize, Serialize};

use crate::audit::change::{Actor, Change, Target};
use crate::directory::access::{Caller, ADMIN_INVITE, MANAGE_PRIVILEGE};
use crate::directory::groups;
use crate::directory::realm::{self, HomeRoute};
use crate::directory::replica::Replica;
use crate::error::{Error, Result};
use crate::i18n;
use crate::i18n::Lang;
use crate::idp::Idp;
use crate::model::Invitation;
use crate::model::InvitationStatus;
use crate::model::{External, ExternalState, HomeAccount, HomeMethod};
use crate::model::{Tenant, User, UserType};
use crate::store::StoreError;
use crate::util::{address, email_domain, now, now_ms, random_token, sha256_hex};

/// Graph's `invitation` request body. Unknown fields are ignored.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewInvitation {
    pub invited_user_email_address: String,
    /// Where the guest lands after redeeming; My Apps here when empty.
    #[serde(default)]
    pub invite_redirect_url: String,
    #[serde(default)]
    pub invited_user_display_name: Option<String>,
    #[serde(default)]
    pub send_invitation_message: bool,
    #[serde(default)]
    pub invited_user_message_info: Option<MessageInfo>,
    #[serde(default)]
    pub invited_user_type: Option<String>,
    #[serde(default)]
    pub reset_redemption: bool,
    #[serde(default)]
    pub invited_user: Option<UserRef>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageInfo {
    #[serde(default)]
    pub customized_message_body: Option<String>,
    /// The invitee's language (`de-DE`): their mails are in it, where covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_language: Option<String>,
    #[serde(default)]
    pub cc_recipients: Vec<Recipient>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    pub email_address: EmailAddress,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EmailAddress {
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserRef {
    pub id: String,
}

/// Graph's `invitation` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphInvitation {
    pub id: String,
    pub invited_user_display_name: String,
    pub invited_user_email_address: String,
    pub invited_user_type: &'static str,
    pub invite_redirect_url: String,
    /// Only in the creation response: the ticket is never stored in clear.
    pub invite_redeem_url: Option<String>,
    pub send_invitation_message: bool,
    pub reset_redemption: bool,
    pub status: InvitationStatus,
    pub invited_user: UserRef,
    pub invited_user_message_info: MessageInfo,
}

impl GraphInvitation {
    fn new(inv: &Invitation, redeem_url: Option<String>) -> GraphInvitation {
        GraphInvitation {
            id: inv.id.clone(),
            invited_user_display_name: inv.display_name.clone(),
            invited_user_email_address: inv.email.clone(),
            invited_user_type: inv.user_type.as_str(),
            invite_redirect_url: inv.redirect_url.clone(),
            invite_redeem_url: redeem_url,
            send_invitation_message: inv.send_message,
            reset_redemption: inv.reset_redemption,
            status: inv.status,
            invited_user: UserRef { id: inv.user_id.clone() },
            invited_user_message_info: MessageInfo {
                customized_message_body: inv.message.clone(),
                message_language: inv.language.clone(),
                cc_recipients: inv
                    .cc
                    .iter()
                    .map(|a| Recipient { email_address: EmailAddress { address: a.clone(), name: None } })
                    .collect(),
            },
        }
    }
}

/// What an invitation call did (the bulk report's `result` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A new guest user and invitation.
    Created,
    /// The user was already invited: a new invitation (and mail) for them.
    AlreadyInvited,
}

pub struct Invited {
    pub invitation: GraphInvitation,
    pub effect: Effect,
    /// Why the invitation mail could not be sent, if it could not.
    pub mail_error: Option<String>,
}

/// Invites one person. Everything is checked before anything is written, so
/// a refusal never leaves a half-created user behind. Two concurrent
/// invitations of a new person: the one that loses the race to create the
/// user becomes a re-invitation.
/// Longest custom message an invitation mail carries.
pub const MAX_MESSAGE_CHARS: usize = 2000;

pub async fn invite(idp: &Idp, tenant: &Tenant, caller: &Caller, new: NewInvitation) -> Result<Invited> {
    let email = new.invited_user_email_address.clone();
    let result = match invite_once(idp, tenant, caller, new.clone()).await {
        Err(Error::Store(StoreError::Conflict(_))) => invite_once(idp, tenant, caller, new).await,
        done => done,
    };
    let outcome = match &result {
        Ok(invited) if invited.effect == Effect::Created => "created",
        Ok(_) => "resent",
        Err(_) => "refused",
    };
    let label = crate::telemetry::tenant_label(&tenant.name, tenant.unmanaged);
    crate::telemetry::count_for_tenant("b2b_idp_invitations_total", label, [("outcome", outcome), ("", "")]);
    let mut change = Change::new(&tenant.id, caller.actor(), "UserManagement", "Invite external user", vec![]);
    match &result {
        Ok(invited) => {
            let user = &invited.invitation.invited_user;
            change.targets = vec![Target::new("User", &user.id, &invited.invitation.invited_user_email_address)];
        }
        Err(e) => {
            change.targets = vec![Target::new("User", "", &email.chars().take(320).collect::<String>())];
            change.failure = Some(e.to_string());
        }
    }
    idp.audit.change(change);
    result
}

async fn invite_once(idp: &Idp, tenant: &Tenant, caller: &Caller, new: NewInvitation) -> Result<Invited> {
    caller.may_invite(tenant)?;
    let email = address::email(&new.invited_user_email_address).map_err(|e| Error::Invalid(format!("invitedUserEmailAddress: {e}")))?;
    let domain = email_domain(&email).ok_or_else(|| Error::Invalid(format!("invitedUserEmailAddress '{email}' has no domain")))?;
    // Without one, the guest lands on My Apps here (Entra's default).
    let redirect = match new.invite_redirect_url.trim() {
        "" => idp.tenant_url(tenant, "myapps"),
        given => given.to_string(),
    };
    let redirect = url::Url::parse(&redirect)
        .ok()
        .filter(address::is_web_url)
        .ok_or_else(|| Error::Invalid("inviteRedirectUrl must be an absolute https URL (http only for localhost)".into()))?;
    if new.reset_redemption {
        // Rebinding a guest to another account is a user administrator's call.
        caller.require(ADMIN_INVITE)?;
    }
    let user_type = match new.invited_user_type.as_deref().unwrap_or("Guest") {
        t if t.eq_ignore_ascii_case("guest") => UserType::Guest,
        t if t.eq_ignore_ascii_case("member") => UserType::Member,
        other => return Err(Error::Invalid(format!("invitedUserType '{other}' must be Guest or Member"))),
    };
    if user_type == UserType::Member {
        // A Member's tokens say so (`acct` 0): an administrator's decision.
        caller.require(ADMIN_INVITE)?;
    }
    let info = new.invited_user_message_info.clone().unwrap_or_default();
    if info.customized_message_body.as_ref().is_some_and(|m| m.chars().count() > MAX_MESSAGE_CHARS) {
        return Err(Error::Invalid(format!("customizedMessageBody is longer than {MAX_MESSAGE_CHARS} characters")));
    }
    let language = match info.message_language.as_deref().filter(|l| !l.trim().is_empty()) {
        None => None,
        Some(tag) => Some(
            crate::i18n::language_tag(tag).ok_or_else(|| Error::Invalid("messageLanguage is not a language tag (such as de-DE)".into()))?,
        ),
    };
    if new.invited_user_display_name.as_ref().is_some_and(|n| n.chars().count() > super::MAX_DISPLAY_NAME_CHARS) {
        return Err(Error::Invalid(format!("invitedUserDisplayName is longer than {} characters", super::MAX_DISPLAY_NAME_CHARS)));
    }
    // Graph allows one CC recipient; it gets a notice, never the redeem link.
    if info.cc_recipients.len() > 1 {
        return Err(Error::Invalid("ccRecipients: at most one recipient".into()));
    }
    let mut cc = Vec::new();
    for r in &info.cc_recipients {
        let address = address::email(&r.email_address.address).map_err(|e| Error::Invalid(format!("ccRecipients: {e}")))?;
        let cc_domain = email_domain(&address).unwrap_or_default();
        if let Some(why) = tenant.collaboration.domain_refusal(&cc_domain) {
            return Err(Error::Forbidden(format!("ccRecipients: {why}")));
        }
        cc.push(address);
    }

    // Entra's refusals.
    if let Some(why) = tenant.collaboration.domain_refusal(&domain) {
        return Err(Error::Forbidden(why));
    }
    let listed = tenant.collaboration.distribution_lists.iter().any(|l| address::email(l).is_ok_and(|l| l == email));
    if listed || groups::is_distribution_list(idp, tenant, &email).await? {
        return Err(Error::Invalid(format!("{email} is a distribution list; invite its members one by one")));
    }
    let route = realm::home_route(idp, tenant, &email).await?;
    if let Some(home_cloud) = route.cloud().filter(|c| *c != tenant.cloud) {
        return Err(Error::Forbidden(format!(
            "{email}'s home is in the {home_cloud:?} cloud and this tenant in the {:?} cloud; invitations cannot cross national clouds",
            tenant.cloud
        )));
    }
    let existing = idp.store.user_by_email(&tenant.id, &email).await?;
    if existing.is_none() {
        let directories = idp.store.user_tenants(&email).await?.len();
        if directories >= idp.config.b2b.max_directories {
            return Err(Error::Forbidden(format!(
                "{email} already belongs to {directories} directories, the most one person may belong to"
            )));
        }
    }

    let read_version = existing.as_ref().map_or(0, |u| u.version);
    let (mut user, effect) = match existing {
        None if new.reset_redemption => {
            return Err(Error::Invalid(
                "resetRedemption needs an existing guest: invitedUser.id and the address it was invited with".into(),
            ))
        }
        None => (new_external_user(tenant, &email, new.invited_user_display_name.as_deref(), user_type, caller), Effect::Created),
        Some(user) => (reinvite(caller, user, &new)?, Effect::AlreadyInvited),
    };
    let ticket = random_token();
    let mut invitation = Invitation {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant.id.clone(),
        user_id: user.id.clone(),
        email: email.clone(),
        display_name: user.display_name.clone(),
        redirect_url: redirect.to_string(),
        ticket_hash: sha256_hex(&ticket),
        status: InvitationStatus::PendingAcceptance,
        user_type: user.user_type,
        invited_by: caller.subject.clone(),
        send_message: new.send_invitation_message,
        message: info.customized_message_body.clone().filter(|m| !m.trim().is_empty()),
        cc,
        reset_redemption: new.reset_redemption,
        language,
        created_at: now(),
        written_at_ms: now_ms(),
    };
    let unbound = user.external.as_ref().is_some_and(|e| e.home.is_none());
    if unbound {
        if let Some(home) = auto_redemption(idp, caller, &route, &email).await? {
            redeemed(&mut user, home);
            invitation.status = InvitationStatus::Completed;
        }
    }
    if user.external.as_ref().is_some_and(|e| e.state == ExternalState::Accepted) {
        invitation.status = InvitationStatus::Completed;
    }

    if invitation.send_message && invitation.status == InvitationStatus::PendingAcceptance {
        reserve_mail(idp, tenant, caller, 1 + invitation.cc.len() as u32).await?;
    }
    match effect {
        Effect::Created => idp.store.create_user(&user).await?,
        Effect::AlreadyInvited => {
            if !idp.store.replace_user(read_version, &user).await? {
                return Err(Error::Conflict(format!("{} was changed or deleted while being invited again; try again", user.email)));
            }
            if new.reset_redemption {
                // The old home account's sessions end, and their apps are told.
                crate::signin::session::end_all_of_user(idp, &tenant.id, &user.id).await;
            }
        }
    }
    if let Err(e) = idp.store.put_invitation(&invitation).await {
        if effect == Effect::Created {
            let _ = idp.store.delete_user(&tenant.id, &user.id).await;
        }
        return Err(e.into());
    }
    let redeem_url = format!("{}?ticket={ticket}", idp.tenant_url(tenant, "redeem"));
    let mut mail_error = None;
    if invitation.send_message && invitation.status == InvitationStatus::PendingAcceptance {
        // The invitation stands even if the mail fails: it can be resent.
        if let Err(e) =
            idp.mailer.invitation(tenant, &invitation, mail_language(tenant, &invitation), &inviter_name(caller), &redeem_url).await
        {
            tracing::warn!(tenant = %tenant.id, invitation = %invitation.id, error = %crate::util::error_chain(&e), "invitation mail not sent");
            mail_error = Some(e.to_string());
        }
    }
    tracing::info!(tenant = %tenant.id, by = %caller.subject, user = %user.id, invitation = %invitation.id, status = ?invitation.status, "invited");
    Ok(Invited { invitation: GraphInvitation::new(&invitation, Some(redeem_url)), effect, mail_error })
}

/// The invitee's language where the inviter gave it, else the tenant's.
fn mail_language(tenant: &Tenant, invitation: &Invitation) -> Lang {
    [&invitation.language, &tenant.preferred_language].into_iter().flatten().find_map(|tag| Lang::for_tag(tag)).unwrap_or_default()
}

/// Counts `mails` against the hourly invitation-mail limits of the inviter
/// and of the tenant (`b2b.invitation_mails_per_*_hourly`), or refuses.
async fn reserve_mail(idp: &Idp, tenant: &Tenant, caller: &Caller, mails: u32) -> Result<()> {
    let b2b = &idp.config.b2b;
    let limits = [
        (format!("invmail-by|{}|{}", tenant.id, caller.subject), b2b.invitation_mails_per_inviter_hourly, "this inviter"),
        (format!("invmail-tenant|{}", tenant.id), b2b.invitation_mails_per_tenant_hourly, "this tenant"),
    ];
    for (key, limit, who) in limits {
        let mut count = 0;
        for _ in 0..mails {
            count = idp.store.bump_counter(&key, 3600).await?;
        }
        if limit > 0 && count > limit {
            return Err(Error::TooManyAttempts(format!(
                "{who} has sent its {limit} invitation mails for this hour; invite without a mail (sendInvitationMessage false) or try again later"
            )));
        }
    }
    Ok(())
}

fn inviter_name(caller: &Caller) -> String {
    match &caller.user {
        Some(u) => format!("{} ({})", u.display_name, u.email),
        None => "An administrator".into(),
    }
}

fn new_external_user(tenant: &Tenant, email: &str, name: Option<&str>, user_type: UserType, caller: &Caller) -> User {
    let display_name = name.map(str::trim).filter(|n| !n.is_empty()).unwrap_or(email);
    User {
        external: Some(External {
            state: ExternalState::PendingAcceptance,
            home: None,
            invited_by: caller.subject.clone(),
            redeemed_at: None,
            reset_at_ms: 0,
        }),
        ..User::new(&tenant.id, email, display_name, user_type)
    }
}

/// A second invitation for someone already in the directory: a resend, or
/// with `resetRedemption` a fresh start that keeps the user object.
fn reinvite(caller: &Caller, mut user: User, new: &NewInvitation) -> Result<User> {
    let Some(external) = user.external.as_mut() else {
        return Err(Error::Conflict(format!("{} is already a member of this tenant", user.email)));
    };
    if new.reset_redemption {
        if new.invited_user.as_ref().is_none_or(|r| r.id != user.id) {
            return Err(Error::Invalid(
                "resetRedemption needs invitedUser.id, and it must be the user invited at invitedUserEmailAddress (changing the address is not supported)".into(),
            ));
        }
        // Resetting a role holder's sign-in would lock out an administrator:
        // a Global Administrator's call (as every change to them is).
        if !user.roles.is_empty() {
            caller.require(MANAGE_PRIVILEGE)?;
        }
        // The old home account loses its sessions and refresh tokens, and
        // older invitation links stop working.
        external.home = None;
        external.state = ExternalState::PendingAcceptance;
        external.redeemed_at = None;
        external.reset_at_ms = now_ms();
        user.sessions_valid_from_ms = now_ms();
    }
    user.touched();
    Ok(user)
}

/// Entra's FAQ: when the inviter is a member of the invitee's home tenant,
/// the invitation is redeemed on creation, without a consent step.
async fn auto_redemption(idp: &Idp, caller: &Caller, route: &HomeRoute, email: &str) -> Result<Option<HomeAccount>> {
    let (HomeRoute::Tenant(home), Some(inviter)) = (route, &caller.user) else { return Ok(None) };
    // The inviter belongs to the home only if they sign in there: a guest
    // bound to it by federation (an email address proves nothing).
    let bound_home = inviter.external.as_ref().and_then(|e| e.home.as_ref());
    let inviter_is_member = bound_home.is_some_and(|h| h.method == HomeMethod::Federation && h.issuer == idp.issuer(home));
    if !inviter_is_member {
        return Ok(None);
    }
    let invitee = idp.store.user_by_email(&home.id, email).await?.filter(|u| u.enabled && u.external.is_none());
    Ok(invitee.map(|u| HomeAccount { tenant_id: home.id.clone(), issuer: idp.issuer(home), subject: u.id, method: HomeMethod::Federation }))
}

fn redeemed(user: &mut User, home: HomeAccount) {
    if let Some(external) = user.external.as_mut() {
        external.home = Some(home);
        external.state = ExternalState::Accepted;
        external.redeemed_at = Some(now());
        user.touched();
    }
}

/// An invitation waiting to be redeemed, by the ticket of its link.
pub async fn by_ticket(idp: &Idp, tenant: &Tenant, ticket: &str) -> Result<(Invitation, User)> {
    let invalid = || Error::Invalid(i18n::text("invitation-link-invalid", &[]));
    let invitation = idp.store.invitation_by_ticket(&sha256_hex(ticket)).await?.ok_or_else(invalid)?;
    if invitation.tenant_id != tenant.id {
        return Err(invalid());
    }
    let user = invited_user(idp, &invitation).await?;
    Ok((invitation, user))
}

/// The account an invitation is for, while the invitation still stands:
/// the account is enabled and no later reset replaced the invitation.
async fn invited_user(idp: &Idp, invitation: &Invitation) -> Result<User> {
    let user = idp
        .store
        .user(&invitation.tenant_id, &invitation.user_id)
        .await?
        .filter(|u| u.enabled)
        .ok_or_else(|| Error::Invalid(i18n::text("invitation-account-removed", &[])))?;
    if user.external.as_ref().is_some_and(|e| invitation.written_at_ms < e.reset_at_ms) {
        return Err(Error::Invalid(i18n::text("invitation-replaced", &[])));
    }
    Ok(user)
}

/// Records a redemption: the invitation is completed and the guest is bound
/// to this home account. A guest already bound to another account, or an
/// invitation already redeemed by another, refuses.
pub async fn redeem(idp: &Idp, tenant: &Tenant, invitation_id: &str, home: HomeAccount) -> Result<(Invitation, User)> {
    let mut invitation =
        idp.store.invitation(&tenant.id, invitation_id).await?.ok_or_else(|| Error::Invalid(i18n::text("fed-invitation-gone", &[])))?;
    // Bind with compare-and-swap: of two accounts redeeming at once, one wins.
    let user = loop {
        let mut user = invited_user(idp, &invitation).await?;
        match user.external.as_ref().and_then(|e| e.home.as_ref()) {
            Some(bound) if bound.issuer == home.issuer && bound.subject == home.subject => break user,
            Some(_) => return Err(Error::Forbidden(i18n::text("invitation-redeemed-by-another", &[]))),
            None => {
                let read = user.version;
                redeemed(&mut user, home.clone());
                if idp.store.replace_user(read, &user).await? {
                    break user;
                }
            }
        }
    };
    if invitation.status != InvitationStatus::Completed {
        invitation.status = InvitationStatus::Completed;
        invitation.written_at_ms = now_ms();
        idp.store.put_invitation(&invitation).await?;
    }
    tracing::info!(tenant = %tenant.id, user = %user.id, invitation = %invitation.id, "invitation redeemed");
    let label = crate::telemetry::tenant_label(&tenant.name, tenant.unmanaged);
    crate::telemetry::count_for_tenant("b2b_idp_invitations_total", label, [("outcome", "redeemed"), ("", "")]);
    let guest = Actor::User { id: user.id.clone(), upn: user.email.clone(), app_id: None };
    let target = vec![Target::new("User", &user.id, &user.email)];
    idp.audit.change(Change::new(&tenant.id, guest, "UserManagement", "Redeem external user invite", target));
    Ok((invitation, user))
}

/// `GET /v1.0/invitations/{id}` (not in Graph, which has no read; handy for polling).
pub async fn get(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<GraphInvitation> {
    caller.may_invite(tenant)?;
    let invitation = idp.store.invitation(&tenant.id, id).await?.ok_or_else(|| Error::NotFound(format!("invitation {id}")))?;
    let replica = Replica { lag_ms: idp.config.store.replication_lag_ms };
    replica.visible(invitation.written_at_ms, &format!("invitation {id}"))?;
    Ok(GraphInvitation::new(&invitation, None))
}
