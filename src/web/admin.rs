//! The admin API (Microsoft Graph's shapes): parse, authorize, call the
//! directory, serialize. Errors come out in Graph's `{"error": {code, message}}`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{http::header, web, FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder};
use serde_json::json;

use tokio::io::AsyncSeekExt;

use crate::directory::branding::{self, BrandingChange, ImageKind};
use crate::directory::etag::{self, IfMatch};
use crate::directory::filter::Filter;
use crate::directory::paging::{Page, PageRequest, DEFAULT_TOP};
use crate::directory::{access, apps, audit, bulk, collaboration, groups, invitations, permission_grants, roles, users};
use crate::error::Error;
use crate::idp::Idp;
use crate::model::{LogKind, Tenant};
use crate::policy::api as policy_api;
use crate::protocol::introspect;
use crate::web::bearer_token;
use crate::web::error::{Graph, GraphFailure, PathTenant};

type GraphResult = Result<HttpResponse, GraphFailure>;

/// The tenant and the authenticated caller of an admin API request: the
/// protocol verifies the bearer token, the directory decides who that is.
pub struct Admin {
    pub tenant: Tenant,
    pub caller: access::Caller,
}

impl FromRequest for Admin {
    type Error = GraphFailure;
    type Future = Pin<Box<dyn Future<Output = Result<Admin, GraphFailure>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let tenant = PathTenant::<Graph>::extract(req);
        let idp = req.app_data::<web::Data<Idp>>().cloned();
        let token = bearer_token(req).map(str::to_string);
        Box::pin(async move {
            let tenant = tenant.await?.0;
            let idp = idp.ok_or_else(|| Error::Internal("no Idp in app data".into()))?;
            let bearer = introspect::bearer(&idp, &tenant, token.as_deref()).await;
            let caller = access::caller(&idp, &tenant, bearer).await?;
            Ok(Admin { tenant, caller })
        })
    }
}

/// A path under `/v1.0/` the admin API does not have: Graph's 404.
pub async fn unknown_route(req: HttpRequest) -> GraphResult {
    let path = req.match_info().unprocessed();
    Err(Error::NotFound(format!("the admin API has no resource at /v1.0{path}")).into())
}

/// A method the resource does not take: Graph's 405, with the ones it does.
pub async fn method_not_allowed(allow: String) -> HttpResponse {
    let message = format!("Specified HTTP method is not allowed for the request uri. Allowed: {allow}.");
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow))
        .json(json!({ "error": { "code": "Request_BadRequest", "message": message } }))
}

/// A JSON body of the admin API. A malformed one answers Graph's 400
/// naming the property at fault (`accountEnabled: invalid type: string
/// "no", expected a boolean`), which actix's `Json` does not.
pub struct Body<T>(pub T);

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = GraphFailure;
    type Future = Pin<Box<dyn Future<Output = Result<Body<T>, GraphFailure>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // Bounded by actix's payload limit (256 KiB).
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = bytes.await.map_err(|e| Error::Invalid(format!("the request body: {e}")))?;
            // serde would read a struct from an array too (`[null, null]`).
            if bytes.trim_ascii_start().first() != Some(&b'{') {
                return Err(Error::Invalid("the request body must be a JSON object".into()).into());
            }
            let mut json = serde_json::Deserializer::from_slice(&bytes);
            let value = serde_path_to_error::deserialize(&mut json).map_err(|e| {
                let at = e.path().to_string();
                let message = if at == "." { format!("malformed JSON body: {}", e.inner()) } else { format!("{at}: {}", e.inner()) };
                Error::Invalid(message)
            })?;
            json.end().map_err(|e| Error::Invalid(format!("malformed JSON body: {e}")))?;
            Ok(Body(value))
        })
    }
}

impl<T> Body<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// `If-Match`, for the settings that honour it.
impl FromRequest for IfMatch {
    type Error = GraphFailure;
    type Future = std::future::Ready<Result<IfMatch, GraphFailure>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let header = req.headers().get(header::IF_MATCH).map(|v| v.to_str().map_err(|_| Error::Invalid("If-Match: not ASCII".into())));
        std::future::ready(header.transpose().map(IfMatch::new).map_err(Into::into))
    }
}

/// A setting with its entity tag (`ETag`), for a later `If-Match`.
fn tagged<T: serde::Serialize>(mut response: HttpResponseBuilder, shown: &T) -> HttpResponse {
    response.insert_header((header::ETAG, etag::of(shown))).json(shown)
}

/// Graph's paging parameters of a list (`$top`, `$skiptoken`).
#[derive(serde::Deserialize)]
pub struct Paging {
    #[serde(rename = "$top")]
    top: Option<String>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
    #[serde(rename = "$count")]
    count: Option<String>,
}

impl Paging {
    fn request(&self) -> Result<PageRequest, GraphFailure> {
        Ok(PageRequest::parse(self.top.as_deref(), self.skiptoken.as_deref(), self.count.as_deref())?)
    }
}

/// A list's query: paging and `$filter`.
#[derive(serde::Deserialize)]
pub struct ListParams {
    #[serde(flatten)]
    paging: Paging,
    #[serde(rename = "$filter")]
    filter: Option<String>,
}

impl ListParams {
    fn parse(&self) -> Result<(PageRequest, Filter), GraphFailure> {
        Ok((self.paging.request()?, Filter::parse(self.filter.as_deref())?))
    }

    /// A page as Graph answers it: `value`, and `@odata.nextLink` (with
    /// the same `$top` and `$filter`) while there is more.
    fn response<T: serde::Serialize>(&self, idp: &Idp, tenant: &Tenant, list: &str, page: Page<T>) -> HttpResponse {
        let mut body = json!({ "value": page.value });
        if let Some(count) = page.count {
            body["@odata.count"] = json!(count);
        }
        if let Some(token) = page.skiptoken {
            let mut params = vec![("$top", self.paging.top.clone().unwrap_or_else(|| DEFAULT_TOP.to_string()))];
            params.extend(self.filter.as_ref().map(|f| ("$filter", f.clone())));
            params.push(("$skiptoken", token));
            let query = serde_urlencoded::to_string(params).unwrap_or_default();
            body["@odata.nextLink"] = json!(idp.tenant_url(tenant, &format!("{list}?{query}")));
        }
        HttpResponse::Ok().json(body)
    }
}

async fn list_log(idp: &Idp, admin: Admin, kind: LogKind, params: ListParams, list: &str) -> GraphResult {
    let request = params.paging.request()?;
    let page = audit::list(idp, &admin.tenant, &admin.caller, kind, params.filter.as_deref(), &request).await?;
    Ok(params.response(idp, &admin.tenant, list, page))
}

pub async fn sign_ins(idp: web::Data<Idp>, admin: Admin, params: web::Query<ListParams>) -> GraphResult {
    list_log(&idp, admin, LogKind::SignIn, params.into_inner(), "v1.0/auditLogs/signIns").await
}

pub async fn directory_audits(idp: web::Data<Idp>, admin: Admin, params: web::Query<ListParams>) -> GraphResult {
    list_log(&idp, admin, LogKind::DirectoryAudit, params.into_inner(), "v1.0/auditLogs/directoryAudits").await
}

/// `POST …/users/{id}/unlock`: ends the user's sign-in lockouts (204).
pub async fn unlock_user(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, path: web::Path<(String, String)>) -> GraphResult {
    let (_, id) = path.into_inner();
    users::unlock(&idp, &tenant, &caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list_users(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, params: web::Query<ListParams>) -> GraphResult {
    let (request, filter) = params.parse()?;
    let page = users::list(&idp, &tenant, &caller, &filter, &request).await?;
    Ok(params.response(&idp, &tenant, "v1.0/users", page))
}

pub async fn get_user(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, path: web::Path<(String, String)>) -> GraphResult {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(users::get(&idp, &tenant, &caller, &id).await?))
}

pub async fn create_user(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, body: Body<users::NewUser>) -> GraphResult {
    let created = users::create(&idp, &tenant, &caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(created))
}

/// `GET …/me` (a delegated token's person).
pub async fn me(Admin { caller, .. }: Admin) -> GraphResult {
    Ok(HttpResponse::Ok().json(users::me(&caller)?))
}

/// `GET …/me/memberOf`: Graph's collection of `group`s.
pub async fn my_groups(idp: web::Data<Idp>, Admin { tenant, caller }: Admin) -> GraphResult {
    let groups: Vec<_> = groups::of_me(&idp, &tenant, &caller)
        .await?
        .into_iter()
        .map(|g| {
            let mut value = serde_json::to_value(g).unwrap_or_default();
            value["@odata.type"] = json!("#microsoft.graph.group");
            value
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "value": groups })))
}

/// `PATCH …/users/{id}` (204, as Graph answers).
pub async fn update_user(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String)>,
    body: Body<users::UserChanges>,
) -> GraphResult {
    let (_, id) = path.into_inner();
    users::update(&idp, &tenant, &caller, &id, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn delete_user(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, path: web::Path<(String, String)>) -> GraphResult {
    let (_, id) = path.into_inner();
    users::delete(&idp, &tenant, &caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn invite(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, body: Body<invitations::NewInvitation>) -> GraphResult {
    let invited = invitations::invite(&idp, &tenant, &caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(invited.invitation))
}

pub async fn get_invitation(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, path: web::Path<(String, String)>) -> GraphResult {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(invitations::get(&idp, &tenant, &caller, &id).await?))
}

/// `text/csv` in, the per-row report (CSV) out.
pub async fn invite_bulk(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, body: web::Payload) -> GraphResult {
    caller.require(access::ADMIN_INVITE)?;
    let (tally, report) = bulk_report(&idp, &tenant, &caller, body).await?;
    if tally.rows == 0 {
        return Err(Error::Invalid("the CSV file has no rows to invite".into()).into());
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("X-Rows", tally.rows.to_string()))
        .streaming(tokio_util::io::ReaderStream::new(report)))
}

/// Runs a bulk invitation from an uploaded CSV (the admin API's body, the
/// console's form field) and returns its tally and the per-row report,
/// rewound. The upload is read as a stream; the report goes to a temporary
/// file, so memory stays flat whatever the row count.
pub(crate) async fn bulk_report<S, E>(
    idp: &Idp,
    tenant: &Tenant,
    caller: &access::Caller,
    upload: S,
) -> Result<(bulk::Tally, tokio::fs::File), Error>
where
    S: futures_util::Stream<Item = Result<web::Bytes, E>> + Unpin + 'static,
    E: std::fmt::Display,
{
    use futures_util::StreamExt;
    // The upload lives on this worker thread; a bounded channel hands it to
    // the (thread-safe) CSV reader with backpressure, and a broken upload
    // arrives as a read error, not as a short file.
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<web::Bytes>>(16);
    let mut upload = upload;
    actix_web::rt::spawn(async move {
        while let Some(chunk) = upload.next().await {
            let chunk = chunk.map_err(|e| std::io::Error::other(e.to_string()));
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                break;
            }
        }
    });
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let input = tokio_util::io::StreamReader::new(Box::pin(chunks));
    let spill = tempfile::tempfile().map_err(|e| Error::Internal(format!("temporary file: {e}")))?;
    let mut report = tokio::fs::File::from_std(spill);
    let tally = bulk::run(idp, tenant, caller, input, &mut report, |_| {}).await?;
    report.rewind().await.map_err(|e| Error::Internal(format!("temporary file: {e}")))?;
    Ok((tally, report))
}

pub async fn list_identity_providers(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, params: web::Query<ListParams>) -> GraphResult {
    let (request, filter) = params.parse()?;
    let page = collaboration::identity_providers(&tenant, &caller, &filter, &request).await?;
    Ok(params.response(&idp, &tenant, "v1.0/identity/identityProviders", page))
}

pub async fn add_identity_provider(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    body: Body<collaboration::GraphIdentityProvider>,
) -> GraphResult {
    let added = collaboration::add_identity_provider(&idp, &tenant, &caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(added))
}

pub async fn list_groups(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, params: web::Query<ListParams>) -> GraphResult {
    let (request, filter) = params.parse()?;
    let page = groups::list(&idp, &tenant, &caller, &filter, &request).await?;
    Ok(params.response(&idp, &tenant, "v1.0/groups", page))
}

pub async fn create_group(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, body: Body<groups::NewGroup>) -> GraphResult {
    Ok(HttpResponse::Created().json(groups::create(&idp, &tenant, &caller, body.into_inner()).await?))
}

pub async fn get_group(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, path: web::Path<(String, String)>) -> GraphResult {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(groups::get(&idp, &tenant, &caller, &id).await?))
}

pub async fn delete_group(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, path: web::Path<(String, String)>) -> GraphResult {
    let (_, id) = path.into_inner();
    groups::delete(&idp, &tenant, &caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn group_members(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String)>,
    params: web::Query<ListParams>,
) -> GraphResult {
    let (_, id) = path.into_inner();
    let (request, filter) = params.parse()?;
    let page = groups::members(&idp, &tenant, &caller, &id, &filter, &request).await?;
    Ok(params.response(&idp, &tenant, &format!("v1.0/groups/{id}/members"), page))
}

pub async fn add_group_member(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String)>,
    body: Body<groups::MemberRef>,
) -> GraphResult {
    let (_, id) = path.into_inner();
    groups::add_member(&idp, &tenant, &caller, &id, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn remove_group_member(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String, String)>,
) -> GraphResult {
    let (_, id, user) = path.into_inner();
    groups::remove_member(&idp, &tenant, &caller, &id, &user).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list_policies(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, params: web::Query<ListParams>) -> GraphResult {
    let (request, filter) = params.parse()?;
    let page = policy_api::list(&tenant, &caller, &filter, &request).await?;
    Ok(params.response(&idp, &tenant, "v1.0/identity/conditionalAccess/policies", page))
}

pub async fn create_policy(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    body: Body<crate::graph::ConditionalAccessPolicy>,
) -> GraphResult {
    Ok(HttpResponse::Created().json(policy_api::create(&idp, &tenant, &caller, body.into_inner()).await?))
}

pub async fn get_policy(Admin { tenant, caller }: Admin, path: web::Path<(String, String)>) -> GraphResult {
    let (_, id) = path.into_inner();
    Ok(tagged(HttpResponse::Ok(), &policy_api::get(&tenant, &caller, &id).await?))
}

pub async fn update_policy(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: Body<serde_json::Value>,
) -> GraphResult {
    let (_, id) = path.into_inner();
    Ok(tagged(HttpResponse::Ok(), &policy_api::update(&idp, &tenant, &caller, &id, body.into_inner(), &if_match).await?))
}

pub async fn delete_policy(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> GraphResult {
    let (_, id) = path.into_inner();
    policy_api::delete(&idp, &tenant, &caller, &id, &if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn get_cross_tenant_default(Admin { tenant, caller }: Admin) -> GraphResult {
    Ok(tagged(HttpResponse::Ok(), &policy_api::default_setting(&tenant, &caller).await?))
}

pub async fn set_cross_tenant_default(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    if_match: IfMatch,
    body: Body<policy_api::PartnerSetting>,
) -> GraphResult {
    Ok(tagged(HttpResponse::Ok(), &policy_api::set_default(&idp, &tenant, &caller, body.into_inner(), &if_match).await?))
}

pub async fn get_partner(Admin { tenant, caller }: Admin, path: web::Path<(String, String)>) -> GraphResult {
    let (_, partner) = path.into_inner();
    Ok(tagged(HttpResponse::Ok(), &policy_api::partner(&tenant, &caller, &partner).await?))
}

pub async fn set_partner(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: Body<policy_api::PartnerSetting>,
) -> GraphResult {
    let (_, partner) = path.into_inner();
    Ok(tagged(HttpResponse::Ok(), &policy_api::set_partner(&idp, &tenant, &caller, &partner, body.into_inner(), &if_match).await?))
}

pub async fn delete_partner(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> GraphResult {
    let (_, partner) = path.into_inner();
    policy_api::delete_partner(&idp, &tenant, &caller, &partner, &if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list_authenticators(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, path: web::Path<(String, String)>) -> GraphResult {
    let (_, user) = path.into_inner();
    Ok(HttpResponse::Ok().json(json!({ "value": users::authenticators(&idp, &tenant, &caller, &user).await? })))
}

pub async fn delete_authenticator(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String, String)>,
) -> GraphResult {
    let (_, user, method) = path.into_inner();
    users::remove_authenticator(&idp, &tenant, &caller, &user, &method).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list_applications(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, params: web::Query<ListParams>) -> GraphResult {
    let (request, filter) = params.parse()?;
    let page = apps::list(&idp, &tenant, &caller, &filter, &request).await?;
    Ok(params.response(&idp, &tenant, "v1.0/applications", page))
}

pub async fn create_application(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, body: Body<apps::ApplicationFields>) -> GraphResult {
    Ok(HttpResponse::Created().json(apps::create(&idp, &tenant, &caller, body.into_inner()).await?))
}

pub async fn get_application(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, path: web::Path<(String, String)>) -> GraphResult {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(apps::get(&idp, &tenant, &caller, &id).await?))
}

/// `PATCH …/applications/{id}` (204, as Graph answers).
pub async fn update_application(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String)>,
    body: Body<apps::ApplicationFields>,
) -> GraphResult {
    let (_, id) = path.into_inner();
    apps::update(&idp, &tenant, &caller, &id, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn delete_application(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, path: web::Path<(String, String)>) -> GraphResult {
    let (_, id) = path.into_inner();
    apps::delete(&idp, &tenant, &caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST …/addPassword`: the new secret, its text shown this once.
pub async fn add_password(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String)>,
    body: Body<apps::AddPassword>,
) -> GraphResult {
    let (_, id) = path.into_inner();
    let added = apps::add_password(&idp, &tenant, &caller, &id, body.into_inner().password_credential).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(added))
}

pub async fn remove_password(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String)>,
    body: Body<apps::RemovePassword>,
) -> GraphResult {
    let (_, id) = path.into_inner();
    apps::remove_password(&idp, &tenant, &caller, &id, &body.into_inner().key_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list_permission_grants(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, params: web::Query<ListParams>) -> GraphResult {
    let (request, filter) = params.parse()?;
    let page = permission_grants::list(&idp, &tenant, &caller, &filter, &request).await?;
    Ok(params.response(&idp, &tenant, "v1.0/oauth2PermissionGrants", page))
}

pub async fn grant_permissions(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    body: Body<permission_grants::NewPermissionGrant>,
) -> GraphResult {
    Ok(HttpResponse::Created().json(permission_grants::create(&idp, &tenant, &caller, body.into_inner()).await?))
}

pub async fn get_permission_grant(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, path: web::Path<(String, String)>) -> GraphResult {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(permission_grants::get(&idp, &tenant, &caller, &id).await?))
}

pub async fn change_permission_grant(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String)>,
    body: Body<permission_grants::PermissionGrantChange>,
) -> GraphResult {
    let (_, id) = path.into_inner();
    permission_grants::change(&idp, &tenant, &caller, &id, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn remove_permission_grant(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String)>,
) -> GraphResult {
    let (_, id) = path.into_inner();
    permission_grants::remove(&idp, &tenant, &caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn role_definitions(Admin { caller, .. }: Admin) -> GraphResult {
    Ok(HttpResponse::Ok().json(json!({ "value": roles::definitions(&caller)? })))
}

pub async fn role_definition(Admin { caller, .. }: Admin, path: web::Path<(String, String)>) -> GraphResult {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(roles::definition(&caller, &id)?))
}

pub async fn list_role_assignments(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, params: web::Query<ListParams>) -> GraphResult {
    let (request, filter) = params.parse()?;
    let page = roles::list(&idp, &tenant, &caller, &filter, &request).await?;
    Ok(params.response(&idp, &tenant, "v1.0/roleManagement/directory/roleAssignments", page))
}

pub async fn assign_role(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, body: Body<roles::NewRoleAssignment>) -> GraphResult {
    Ok(HttpResponse::Created().json(roles::assign(&idp, &tenant, &caller, body.into_inner()).await?))
}

pub async fn get_role_assignment(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, path: web::Path<(String, String)>) -> GraphResult {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(roles::get(&idp, &tenant, &caller, &id).await?))
}

pub async fn remove_role_assignment(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String)>,
) -> GraphResult {
    let (_, id) = path.into_inner();
    roles::remove(&idp, &tenant, &caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /openapi.json`: the admin API's OpenAPI 3.1 document, for this
/// server's public address and tenants.
pub async fn openapi(idp: web::Data<Idp>) -> GraphResult {
    let tenants: Vec<String> = idp.store.tenants().await.map_err(Error::from)?.into_iter().map(|t| t.name).collect();
    let document = crate::web::openapi::document(&crate::web::admin_operations(), idp.base_url(), &tenants);
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "max-age=60")).json(document))
}

/// `/organization/{id}`: Graph's organization is the tenant itself.
fn organization(tenant: &Tenant, id: &str) -> Result<(), GraphFailure> {
    if id == tenant.id {
        return Ok(());
    }
    Err(Error::NotFound(format!("organization {id}; this tenant's is {}", tenant.id)).into())
}

/// The look a branding path names: the default, or `localizations/{lang}`.
fn branding_look(tenant: &Tenant, org: &str, lang: Option<&str>) -> Result<Option<String>, GraphFailure> {
    organization(tenant, org)?;
    Ok(lang.map(branding::look_id).transpose()?.flatten())
}

pub async fn get_branding(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, path: web::Path<(String, String)>) -> GraphResult {
    let lang = branding_look(&tenant, &path.1, None)?;
    Ok(HttpResponse::Ok().json(branding::get(&idp, &tenant, &caller, lang.as_deref()).await?))
}

pub async fn update_branding(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String)>,
    body: Body<BrandingChange>,
) -> GraphResult {
    let lang = branding_look(&tenant, &path.1, None)?;
    Ok(HttpResponse::Ok().json(branding::update(&idp, &tenant, &caller, lang.as_deref(), body.into_inner()).await?))
}

pub async fn list_branding_localizations(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String)>,
    params: web::Query<ListParams>,
) -> GraphResult {
    organization(&tenant, &path.1)?;
    let (request, _) = params.parse()?;
    let page = branding::localizations(&idp, &tenant, &caller, &request).await?;
    Ok(params.response(&idp, &tenant, &format!("v1.0/organization/{}/branding/localizations", tenant.id), page))
}

pub async fn get_branding_localization(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String, String)>,
) -> GraphResult {
    let lang = branding_look(&tenant, &path.1, Some(&path.2))?;
    Ok(HttpResponse::Ok().json(branding::get(&idp, &tenant, &caller, lang.as_deref()).await?))
}

pub async fn update_branding_localization(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String, String)>,
    body: Body<BrandingChange>,
) -> GraphResult {
    let lang = branding_look(&tenant, &path.1, Some(&path.2))?;
    Ok(HttpResponse::Ok().json(branding::update(&idp, &tenant, &caller, lang.as_deref(), body.into_inner()).await?))
}

pub async fn delete_branding_localization(
    idp: web::Data<Idp>,
    Admin { tenant, caller }: Admin,
    path: web::Path<(String, String, String)>,
) -> GraphResult {
    match branding_look(&tenant, &path.1, Some(&path.2))? {
        Some(lang) => branding::remove_localization(&idp, &tenant, &caller, &lang).await?,
        None => return Err(Error::Invalid("the default branding cannot be deleted; PATCH its fields to null".into()).into()),
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `…/branding/{image}` or `…/branding/localizations/{lang}/{image}`.
fn image_path(tenant: &Tenant, segments: &[String]) -> Result<(Option<String>, ImageKind), GraphFailure> {
    match segments {
        [org, kind] => Ok((branding_look(tenant, org, None)?, ImageKind::parse(kind)?)),
        [org, lang, kind] => Ok((branding_look(tenant, org, Some(lang))?, ImageKind::parse(kind)?)),
        _ => Err(Error::Internal("a branding image route without its segments".into()).into()),
    }
}

fn image_segments(req: &HttpRequest) -> Vec<String> {
    ["org", "lang", "image"].iter().filter_map(|name| req.match_info().get(name).map(str::to_string)).collect()
}

pub async fn get_branding_image(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, req: HttpRequest) -> GraphResult {
    let (lang, kind) = image_path(&tenant, &image_segments(&req))?;
    let asset = branding::image(&idp, &tenant, &caller, lang.as_deref(), kind).await?;
    Ok(HttpResponse::Ok().content_type(asset.content_type).body(asset.bytes))
}

/// The image's bytes are the body (`image/png` or `image/jpeg`).
pub async fn put_branding_image(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, req: HttpRequest, body: web::Payload) -> GraphResult {
    let (lang, kind) = image_path(&tenant, &image_segments(&req))?;
    // Rights before reading up to 300 KiB of someone's body.
    caller.require(branding::MANAGE_BRANDING)?;
    let bytes = crate::web::read_bounded(body, branding::MAX_IMAGE_BYTES, "the image").await?;
    branding::set_image(&idp, &tenant, &caller, lang.as_deref(), kind, &bytes).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn delete_branding_image(idp: web::Data<Idp>, Admin { tenant, caller }: Admin, req: HttpRequest) -> GraphResult {
    let (lang, kind) = image_path(&tenant, &image_segments(&req))?;
    branding::remove_image(&idp, &tenant, &caller, lang.as_deref(), kind).await?;
    Ok(HttpResponse::NoContent().finish())
}
