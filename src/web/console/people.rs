//! The console's people: users and guests, invitations (one, again, or
//! many from a CSV file), and groups with their members.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::directory::filter::Filter;
use crate::directory::groups::{self, MemberRef, NewGroup};
use crate::directory::invitations::{self, MessageInfo, NewInvitation, UserRef};
use crate::directory::paging::PageRequest;
use crate::directory::{audit, portal as directory_portal, users};
use crate::error::Error;
use crate::i18n;
use crate::idp::Idp;
use crate::model::User;
use crate::util::random_token;
use crate::web::admin::bulk_report;
use crate::web::console::{back_to, page, uploaded_file};
use crate::web::error::{Page, PathTenant};
use crate::web::pages::PageResult;
use crate::web::portal::{signed_in, Portal};

/// Rows per page of the console's lists.
const PER_PAGE: &str = "25";

/// A `$filter` clause comparing `field` with text typed into a form.
fn clause(op: &str, field: &str, text: &str) -> String {
    let quoted = format!("'{}'", text.replace('\'', "''"));
    match op {
        "startswith" => format!("startswith({field}, {quoted})"),
        _ => format!("{field} eq {quoted}"),
    }
}

/// The link to the next page of a list, with the query that made it.
fn next_link(idp: &Idp, portal: &Portal, list: &str, query: &[(&str, &str)], skiptoken: Option<String>) -> Option<String> {
    let token = skiptoken?;
    let mut params = query.to_vec();
    params.push(("skiptoken", &token));
    Some(format!("{}?{}", idp.tenant_url(&portal.tenant, list), serde_urlencoded::to_string(params).unwrap_or_default()))
}

#[derive(Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: String,
    skiptoken: Option<String>,
}

impl UsersQuery {
    /// The `$filter` the search means: an address when it has an `@`, else
    /// the start of a display name; and Members or Guests.
    fn filter(&self) -> Result<Filter, Error> {
        let mut clauses = Vec::new();
        let q = self.q.trim();
        if !q.is_empty() {
            clauses.push(clause("startswith", if q.contains('@') { "mail" } else { "displayName" }, q));
        }
        if matches!(self.kind.as_str(), "Member" | "Guest") {
            clauses.push(clause("eq", "userType", &self.kind));
        }
        Filter::parse((!clauses.is_empty()).then(|| clauses.join(" and ")).as_deref())
    }
}

fn user_row(user: &User, home: Option<String>, last_sign_in: Option<audit::LastSignIn>) -> Value {
    let external = user.external.as_ref();
    json!({
        "id": user.id,
        "name": user.display_name,
        "email": user.email,
        "user_type": user.user_type.as_str(),
        "state": external.map(|e| e.state.as_str()),
        "home": home,
        "enabled": user.enabled,
        "created": crate::directory::users::rfc3339(user.created_at),
        "last_sign_in": match last_sign_in {
            Some(audit::LastSignIn::At(ms)) => crate::util::rfc3339_ms(ms),
            Some(audit::LastSignIn::Never) => i18n::text("admin-no-sign-in", &[]),
            Some(audit::LastSignIn::NotRecently) => i18n::text("admin-no-recent-sign-in", &[]),
            None => String::new(),
        },
    })
}

/// `GET /{tenant}/admin/users`: members and guests, searchable, in pages.
pub async fn users(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, q: web::Query<UsersQuery>) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    let q = q.into_inner();
    let filter = q.filter()?;
    let request = PageRequest::parse(Some(PER_PAGE), q.skiptoken.as_deref(), None)?;
    let found = users::records(&idp, &tenant, &portal.caller, &filter, &request).await?;
    let next = next_link(&idp, &portal, "admin/users", &[("q", &q.q), ("kind", &q.kind)], found.skiptoken);
    // The sign-in log needs its own right: without it, the column is not shown.
    let ids: Vec<&str> = found.value.iter().map(|u| u.id.as_str()).collect();
    let last_sign_ins = match audit::last_sign_ins(&idp, &tenant, &portal.caller, &ids).await {
        Ok(last) => Some(last),
        Err(Error::Forbidden(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let mut rows = Vec::new();
    for user in &found.value {
        let home = match user.external.as_ref().and_then(|e| e.home.as_ref()) {
            Some(home) => Some(directory_portal::home_name(&idp, &tenant, home).await),
            None => None,
        };
        let last = last_sign_ins.as_ref().and_then(|last| last.get(&user.id).copied());
        rows.push(user_row(user, home, last));
    }
    let context = json!({
        "users": rows, "q": q.q, "kind": q.kind, "next": next, "resend_url": idp.tenant_url(&tenant, "admin/invite/again"),
        "shows_sign_ins": last_sign_ins.is_some(),
    });
    Ok(page(&idp, &req, &portal, "admin/users.html", "users", context, None))
}

/// `GET /{tenant}/admin/invite`: one guest, or many from a CSV file.
pub async fn invite_page(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    Ok(invite_form(&idp, &req, &portal, json!({})))
}

fn invite_form(idp: &Idp, req: &HttpRequest, portal: &Portal, shown: Value) -> HttpResponse {
    let nonce = random_token();
    let mut context = shown;
    context["action"] = json!(idp.tenant_url(&portal.tenant, "admin/invite"));
    context["bulk_action"] = json!(idp.tenant_url(&portal.tenant, "admin/invite/bulk"));
    context["nonce"] = json!(nonce);
    page(idp, req, portal, "admin/invite.html", "invite", context, Some(&nonce))
}

#[derive(Deserialize)]
pub struct InviteForm {
    csrf_token: String,
    #[serde(rename = "invitedUserEmailAddress")]
    email: String,
    #[serde(rename = "invitedUserDisplayName", default)]
    display_name: String,
    #[serde(rename = "customizedMessageBody", default)]
    message: String,
    #[serde(rename = "inviteRedirectUrl", default)]
    redirect_url: String,
}

/// `POST /{tenant}/admin/invite`: Graph's invitation, with the mail sent.
pub async fn invite(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<InviteForm>) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    let form = form.into_inner();
    portal.check_csrf(&idp, &req, &form.csrf_token)?;
    let new = NewInvitation {
        invited_user_email_address: form.email.clone(),
        invite_redirect_url: form.redirect_url.trim().to_string(),
        invited_user_display_name: Some(form.display_name.trim().to_string()).filter(|n| !n.is_empty()),
        send_invitation_message: true,
        invited_user_message_info: Some(MessageInfo {
            customized_message_body: Some(form.message.trim().to_string()).filter(|m| !m.is_empty()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let shown = match invitations::invite(&idp, &tenant, &portal.caller, new).await {
        Ok(invited) => json!({ "invited": invited.invitation.invited_user_email_address }),
        // What the API would answer 400 for is the form's to show.
        Err(Error::Invalid(why)) => {
            json!({ "error": why, "email": form.email, "display_name": form.display_name, "message": form.message, "redirect_url": form.redirect_url })
        }
        Err(e) => return Err(e.into()),
    };
    Ok(invite_form(&idp, &req, &portal, shown))
}

#[derive(Deserialize)]
pub struct AgainForm {
    csrf_token: String,
    email: String,
    /// The guest's object id (Graph's `invitedUser.id`, which a reset names).
    #[serde(default)]
    user: String,
    /// `reset`: bind the guest to whatever account redeems next.
    #[serde(default)]
    action: String,
}

/// `POST /{tenant}/admin/invite/again`: resends a guest's invitation, or
/// resets its redemption (a sensitive action: a recent sign-in first).
pub async fn invite_again(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<AgainForm>) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    portal.check_csrf(&idp, &req, &form.csrf_token)?;
    let reset = form.action == "reset";
    if reset {
        if let Some(again) = portal.reauthenticate(&idp, &req, "admin/users") {
            return Ok(again);
        }
    }
    let new = NewInvitation {
        invited_user_email_address: form.email.clone(),
        send_invitation_message: true,
        reset_redemption: reset,
        invited_user: reset.then(|| UserRef { id: form.user.clone() }),
        ..Default::default()
    };
    invitations::invite(&idp, &tenant, &portal.caller, new).await?;
    let key = if reset { "admin-reset-done" } else { "admin-resent" };
    Ok(page(&idp, &req, &portal, "admin/done.html", "users", json!({ "message": i18n::text(key, &[("email", &form.email)]) }), None))
}

/// `POST /{tenant}/admin/invite/bulk` (`multipart/form-data`: `csrf_token`,
/// then `file`): the CSV's invitations; the answer is the per-row report,
/// as a download. The page's script shows progress and a summary.
pub async fn invite_bulk(
    idp: web::Data<Idp>,
    tenant: PathTenant<Page>,
    req: HttpRequest,
    mut form: actix_multipart::Multipart,
) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    let file = uploaded_file(&idp, &req, &portal, &mut form).await?;
    let (tally, report) = bulk_report(&idp, &tenant, &portal.caller, file).await?;
    if tally.rows == 0 {
        return Err(Error::Invalid(i18n::text("admin-bulk-empty", &[])).into());
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"bulk-invitations-report.csv\""))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Rows", tally.rows.to_string()))
        .insert_header(("X-Created", tally.created.to_string()))
        .insert_header(("X-Already-Invited", tally.already_invited.to_string()))
        .insert_header(("X-Refused", tally.refused.to_string()))
        .streaming(tokio_util::io::ReaderStream::new(report)))
}

/// `GET /{tenant}/admin/groups`: the groups, in pages, and a new one.
pub async fn groups(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, q: web::Query<super::LogQuery>) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    let request = PageRequest::parse(Some(PER_PAGE), q.skiptoken.as_deref(), None)?;
    let found = groups::list(&idp, &tenant, &portal.caller, &Filter::default(), &request).await?;
    let next = next_link(&idp, &portal, "admin/groups", &[], found.skiptoken);
    let context = json!({ "groups": found.value, "next": next, "action": idp.tenant_url(&tenant, "admin/groups") });
    Ok(page(&idp, &req, &portal, "admin/groups.html", "groups", context, None))
}

#[derive(Deserialize)]
pub struct GroupForm {
    csrf_token: String,
    #[serde(rename = "displayName")]
    display_name: String,
    #[serde(default)]
    description: String,
}

/// `POST /{tenant}/admin/groups`: a new assigned group.
pub async fn create_group(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<GroupForm>) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    portal.check_csrf(&idp, &req, &form.csrf_token)?;
    let form = form.into_inner();
    let description = Some(form.description.trim().to_string()).filter(|d| !d.is_empty());
    let new: NewGroup = serde_json::from_value(json!({ "displayName": form.display_name, "description": description }))
        .map_err(|e| Error::Invalid(format!("the group: {e}")))?;
    let created = groups::create(&idp, &tenant, &portal.caller, new).await?;
    Ok(back_to(&idp, &portal, &format!("admin/groups/{}", created.id)))
}

/// `GET /{tenant}/admin/groups/{id}`: a group and its members.
pub async fn group(
    idp: web::Data<Idp>,
    tenant: PathTenant<Page>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<super::LogQuery>,
) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    let (_, id) = path.into_inner();
    let group = groups::get(&idp, &tenant, &portal.caller, &id).await?;
    let request = PageRequest::parse(Some(PER_PAGE), q.skiptoken.as_deref(), None)?;
    let members = groups::members(&idp, &tenant, &portal.caller, &id, &Filter::default(), &request).await?;
    let list = format!("admin/groups/{id}");
    let next = next_link(&idp, &portal, &list, &[], members.skiptoken);
    let context = json!({ "group": group, "members": members.value, "next": next, "action": idp.tenant_url(&tenant, &list) });
    Ok(page(&idp, &req, &portal, "admin/group.html", "groups", context, None))
}

#[derive(Deserialize)]
pub struct MemberForm {
    csrf_token: String,
    /// `add` (by email address), `remove` (by user id) or `delete` (the group).
    action: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    user: String,
}

/// `POST /{tenant}/admin/groups/{id}`: adds or removes a member, or deletes
/// the group (a sensitive action: a recent sign-in first).
pub async fn change_group(
    idp: web::Data<Idp>,
    tenant: PathTenant<Page>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<MemberForm>,
) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    portal.check_csrf(&idp, &req, &form.csrf_token)?;
    let (_, id) = path.into_inner();
    let here = format!("admin/groups/{id}");
    match form.action.as_str() {
        "add" => {
            // The address names the user through the users list, with its rights.
            let filter = Filter::parse(Some(&clause("eq", "mail", form.email.trim())))?;
            let found = users::records(&idp, &tenant, &portal.caller, &filter, &PageRequest::parse(Some("1"), None, None)?).await?;
            let user = found.value.first().ok_or_else(|| Error::NotFound(format!("a user with the address {}", form.email.trim())))?;
            let member = MemberRef { odata_id: format!("users/{}", user.id) };
            groups::add_member(&idp, &tenant, &portal.caller, &id, member).await?;
        }
        "remove" => groups::remove_member(&idp, &tenant, &portal.caller, &id, &form.user).await?,
        "delete" => {
            if let Some(again) = portal.reauthenticate(&idp, &req, &here) {
                return Ok(again);
            }
            groups::delete(&idp, &tenant, &portal.caller, &id).await?;
            return Ok(back_to(&idp, &portal, "admin/groups"));
        }
        other => return Err(Error::Invalid(format!("unknown action '{other}'")).into()),
    }
    Ok(back_to(&idp, &portal, &here))
}
