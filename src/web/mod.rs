//! HTTP: routes, middleware and the mapping of domain results to responses.
//! The only module that knows about actix.

pub mod account;
pub mod admin;
pub mod console;
pub mod cookies;
pub mod device;
pub mod error;
pub mod federation;
pub mod mfa;
pub mod oidc;
pub mod openapi;
pub mod pages;
pub mod portal;
pub mod templates;

use actix_web::dev::Service;
use actix_web::http::{header, Method};
use actix_web::middleware::DefaultHeaders;
use actix_web::web;
use futures_util::FutureExt;

use crate::audit;
use crate::audit::context::RequestContext;
use crate::error::OAuthError;
use crate::idp::Idp;
use crate::web::error::{GraphFailure, OAuthFailure};
use crate::web::openapi::Operation;

/// Every route of the server (docs/contract.md, "URLs", names the public ones).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(oidc::healthz))
        .route("/readyz", web::get().to(oidc::readyz))
        .route("/metrics", web::get().to(oidc::metrics))
        .route("/openapi.json", web::get().to(admin::openapi))
        .default_service(web::to(error::not_found))
        .service(
            web::scope("/{tenant}")
                .route("/v2.0/.well-known/openid-configuration", web::get().to(oidc::discovery))
                .route("/discovery/v2.0/keys", web::get().to(oidc::jwks))
                .route("/oauth2/v2.0/authorize", web::get().to(pages::authorize_get))
                .route("/oauth2/v2.0/authorize", web::post().to(pages::authorize_post))
                .route("/oauth2/v2.0/token", web::post().to(oidc::token))
                .route("/oauth2/v2.0/par", web::post().to(oidc::par))
                .route("/oauth2/v2.0/devicecode", web::post().to(oidc::devicecode))
                .route("/oauth2/v2.0/introspect", web::post().to(oidc::introspect))
                .route("/oauth2/v2.0/revoke", web::post().to(oidc::revoke))
                .route("/oauth2/v2.0/logout", web::get().to(pages::logout_get))
                .route("/devicelogin", web::get().to(device::page))
                .route("/devicelogin", web::post().to(device::enter))
                .route("/devicelogin/confirm", web::post().to(device::confirm))
                .route("/oauth2/v2.0/logout", web::post().to(pages::logout_post))
                .route("/openid/userinfo", web::get().to(oidc::userinfo))
                .route("/openid/userinfo", web::post().to(oidc::userinfo))
                .service(admin_api())
                .route("/login", web::get().to(pages::sign_in_page))
                .route("/login", web::post().to(pages::sign_in))
                .route("/consent", web::post().to(pages::consent))
                .route("/redeem", web::get().to(federation::redeem_page))
                .route("/redeem", web::post().to(federation::redeem))
                .route("/redeem/consent", web::post().to(federation::redeem_consent))
                .route("/federation/callback", web::get().to(federation::callback))
                .route("/federation/backchannel-logout", web::post().to(federation::backchannel_logout))
                .route("/passcode", web::post().to(federation::passcode))
                .route("/passcode/resend", web::post().to(federation::passcode_resend))
                .route("/mfa", web::post().to(mfa::submit))
                .route("/password/reset", web::get().to(account::reset_page))
                .route("/password/reset", web::post().to(account::reset))
                .route("/resume", web::post().to(mfa::resume))
                .route("/branding/{file}", web::get().to(pages::branding_image))
                .route("/leave", web::get().to(federation::leave_page))
                .route("/leave", web::post().to(federation::leave))
                .route("/portal/callback", web::get().to(portal::callback))
                .route("/myapps", web::get().to(portal::myapps))
                .route("/myapps/sign-out-everywhere", web::post().to(portal::sign_out_everywhere))
                .route("/myapps/authenticator", web::post().to(portal::new_authenticator))
                .route("/myapps/authenticator/confirm", web::post().to(portal::confirm_authenticator))
                .route("/admin", web::get().to(console::overview))
                .route("/admin/", web::get().to(console::overview))
                .route("/admin/sign-ins", web::get().to(console::sign_ins))
                .route("/admin/users", web::get().to(console::people::users))
                .route("/admin/invite", web::get().to(console::people::invite_page))
                .route("/admin/invite", web::post().to(console::people::invite))
                .route("/admin/invite/again", web::post().to(console::people::invite_again))
                .route("/admin/invite/bulk", web::post().to(console::people::invite_bulk))
                .route("/admin/groups", web::get().to(console::people::groups))
                .route("/admin/groups", web::post().to(console::people::create_group))
                .route("/admin/groups/{id}", web::get().to(console::people::group))
                .route("/admin/groups/{id}", web::post().to(console::people::change_group))
                .route("/admin/policies", web::get().to(console::access::policies))
                .route("/admin/policies", web::post().to(console::access::change_policy))
                .route("/admin/partners", web::get().to(console::access::partners))
                .route("/admin/partners", web::post().to(console::access::set_partner))
                .route("/admin/identity-providers", web::get().to(console::access::identity_providers))
                .route("/admin/identity-providers", web::post().to(console::access::add_identity_provider))
                .route("/admin/branding", web::get().to(console::branding::show))
                .route("/admin/branding", web::post().to(console::branding::save))
                .route("/admin/branding/logo", web::post().to(console::branding::upload_logo)),
        );
}

/// The admin API (Graph's shapes) under `/{tenant}/v1.0`, from the table
/// of its operations. A path it does not have answers Graph's 404, a
/// method a resource lacks Graph's 405 with `Allow`, both in JSON like
/// every other admin API error.
fn admin_api() -> actix_web::Scope {
    let mut resources: Vec<(&'static str, Vec<(Method, actix_web::Route)>)> = Vec::new();
    for op in admin_operations() {
        match resources.iter_mut().find(|(path, _)| *path == op.path) {
            Some((_, routes)) => routes.push((op.method, op.route)),
            None => resources.push((op.path, vec![(op.method, op.route)])),
        }
    }
    // A malformed query (`$top=1&$top=2`) is a Graph 400 here, not OAuth's.
    let queries = web::QueryConfig::default()
        .error_handler(|e, _| GraphFailure::from(crate::error::Error::Invalid(format!("malformed query: {e}"))).into());
    let scope = web::scope("/v1.0").app_data(queries);
    let scope = resources.into_iter().fold(scope, |scope, (path, routes)| scope.service(graph_resource(path, routes)));
    scope.default_service(web::to(admin::unknown_route))
}

/// Every operation of the admin API: its route, and what `/openapi.json`
/// says of it (`web::openapi`).
pub fn admin_operations() -> Vec<Operation> {
    use crate::directory::{apps, branding, groups, invitations, permission_grants, roles, users};
    use crate::policy::api::PartnerSetting;
    use openapi::{object, schema, Answer::*};
    type User = users::GraphUser;
    type Group = groups::GraphGroup;
    type Policy = crate::graph::ConditionalAccessPolicy;
    type Provider = crate::directory::collaboration::GraphIdentityProvider;
    type App = apps::GraphApplication;
    type Branding = branding::GraphBranding;
    use branding::BrandingChange;
    let op = Operation::new;
    let (get, post, put, patch, delete) = (Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE);
    vec![
        op(get.clone(), "/users", web::to(admin::list_users), "List users", Page(schema::<User>)).needs("User.Read.All"),
        op(post.clone(), "/users", web::to(admin::create_user), "Create a member", Json(201, schema::<User>))
            .body(schema::<users::NewUser>)
            .needs("User.ReadWrite.All"),
        op(get.clone(), "/users/{id}", web::to(admin::get_user), "Get a user", Json(200, schema::<User>)).needs("User.Read.All"),
        op(patch.clone(), "/users/{id}", web::to(admin::update_user), "Change or disable a user", NoContent)
            .body(schema::<users::UserChanges>)
            .needs("User.ReadWrite.All"),
        op(delete.clone(), "/users/{id}", web::to(admin::delete_user), "Delete a user", NoContent).needs("User.ReadWrite.All"),
        op(get.clone(), "/me", web::to(admin::me), "The signed-in person", Json(200, schema::<User>)).needs("a person's token"),
        op(get.clone(), "/me/memberOf", web::to(admin::my_groups), "The signed-in person's groups", All(schema::<Group>))
            .needs("a person's token"),
        op(post.clone(), "/users/{id}/unlock", web::to(admin::unlock_user), "End a user's sign-in lockouts", NoContent)
            .needs("User.ReadWrite.All"),
        op(get.clone(), "/auditLogs/signIns", web::to(admin::sign_ins), "The sign-in log", Page(object)).needs("AuditLog.Read.All"),
        op(get.clone(), "/auditLogs/directoryAudits", web::to(admin::directory_audits), "The directory audit log", Page(object))
            .needs("AuditLog.Read.All"),
        op(get.clone(), "/groups", web::to(admin::list_groups), "List groups", Page(schema::<Group>)).needs("Group.Read.All"),
        op(post.clone(), "/groups", web::to(admin::create_group), "Create a group", Json(201, schema::<Group>))
            .body(schema::<groups::NewGroup>)
            .needs("Group.ReadWrite.All"),
        op(get.clone(), "/groups/{id}", web::to(admin::get_group), "Get a group", Json(200, schema::<Group>)).needs("Group.Read.All"),
        op(delete.clone(), "/groups/{id}", web::to(admin::delete_group), "Delete a group", NoContent).needs("Group.ReadWrite.All"),
        op(get.clone(), "/groups/{id}/members", web::to(admin::group_members), "List a group's members", Page(schema::<User>))
            .needs("Group.Read.All"),
        op(post.clone(), "/groups/{id}/members/$ref", web::to(admin::add_group_member), "Add a member to a group", NoContent)
            .body(schema::<groups::MemberRef>)
            .needs("Group.ReadWrite.All"),
        op(
            delete.clone(),
            "/groups/{id}/members/{user}/$ref",
            web::to(admin::remove_group_member),
            "Remove a member from a group",
            NoContent,
        )
        .needs("Group.ReadWrite.All"),
        op(
            get.clone(),
            "/users/{id}/authentication/softwareOathMethods",
            web::to(admin::list_authenticators),
            "A user's authenticator app",
            All(object),
        )
        .needs("User.ReadWrite.All"),
        op(
            delete.clone(),
            "/users/{id}/authentication/softwareOathMethods/{method}",
            web::to(admin::delete_authenticator),
            "Reset a user's authenticator app",
            NoContent,
        )
        .needs("User.ReadWrite.All"),
        op(
            get.clone(),
            "/identity/conditionalAccess/policies",
            web::to(admin::list_policies),
            "List conditional access policies",
            Page(schema::<Policy>),
        )
        .needs("Policy.ReadWrite.All"),
        op(
            post.clone(),
            "/identity/conditionalAccess/policies",
            web::to(admin::create_policy),
            "Create a policy",
            Json(201, schema::<Policy>),
        )
        .body(schema::<Policy>)
        .needs("Policy.ReadWrite.All"),
        op(
            get.clone(),
            "/identity/conditionalAccess/policies/{id}",
            web::to(admin::get_policy),
            "Get a policy",
            Json(200, schema::<Policy>),
        )
        .needs("Policy.ReadWrite.All"),
        op(
            patch.clone(),
            "/identity/conditionalAccess/policies/{id}",
            web::to(admin::update_policy),
            "Change a policy",
            Json(200, schema::<Policy>),
        )
        .body(object)
        .needs("Policy.ReadWrite.All"),
        op(delete.clone(), "/identity/conditionalAccess/policies/{id}", web::to(admin::delete_policy), "Delete a policy", NoContent)
            .needs("Policy.ReadWrite.All"),
        op(
            get.clone(),
            "/policies/crossTenantAccessPolicy/default",
            web::to(admin::get_cross_tenant_default),
            "The default inbound trust",
            Json(200, schema::<PartnerSetting>),
        )
        .needs("Policy.ReadWrite.All"),
        op(
            patch.clone(),
            "/policies/crossTenantAccessPolicy/default",
            web::to(admin::set_cross_tenant_default),
            "Change the default inbound trust",
            Json(200, schema::<PartnerSetting>),
        )
        .body(schema::<PartnerSetting>)
        .needs("Policy.ReadWrite.All"),
        op(
            get.clone(),
            "/policies/crossTenantAccessPolicy/partners/{partner}",
            web::to(admin::get_partner),
            "A partner's inbound trust",
            Json(200, schema::<PartnerSetting>),
        )
        .needs("Policy.ReadWrite.All"),
        op(
            put.clone(),
            "/policies/crossTenantAccessPolicy/partners/{partner}",
            web::to(admin::set_partner),
            "Set a partner's inbound trust",
            Json(200, schema::<PartnerSetting>),
        )
        .body(schema::<PartnerSetting>)
        .needs("Policy.ReadWrite.All"),
        op(
            patch.clone(),
            "/policies/crossTenantAccessPolicy/partners/{partner}",
            web::to(admin::set_partner),
            "Change a partner's inbound trust",
            Json(200, schema::<PartnerSetting>),
        )
        .body(schema::<PartnerSetting>)
        .needs("Policy.ReadWrite.All"),
        op(
            delete.clone(),
            "/policies/crossTenantAccessPolicy/partners/{partner}",
            web::to(admin::delete_partner),
            "Forget a partner",
            NoContent,
        )
        .needs("Policy.ReadWrite.All"),
        op(post.clone(), "/invitations", web::to(admin::invite), "Invite a guest", Json(201, schema::<invitations::GraphInvitation>))
            .body(schema::<invitations::NewInvitation>)
            .needs("User.Invite.All"),
        op(post.clone(), "/invitations/bulk", web::to(admin::invite_bulk), "Invite from a CSV file", Csv).needs("User.Invite.All"),
        op(
            get.clone(),
            "/invitations/{id}",
            web::to(admin::get_invitation),
            "Get an invitation",
            Json(200, schema::<invitations::GraphInvitation>),
        )
        .needs("User.Invite.All"),
        op(
            get.clone(),
            "/identity/identityProviders",
            web::to(admin::list_identity_providers),
            "List external identity providers",
            Page(schema::<Provider>),
        )
        .needs("Policy.ReadWrite.All"),
        op(
            post.clone(),
            "/identity/identityProviders",
            web::to(admin::add_identity_provider),
            "Add an external identity provider",
            Json(201, schema::<Provider>),
        )
        .body(schema::<Provider>)
        .needs("Policy.ReadWrite.All"),
        op(get.clone(), "/applications", web::to(admin::list_applications), "List applications", Page(schema::<App>))
            .needs("Application.Read.All"),
        op(post.clone(), "/applications", web::to(admin::create_application), "Register an application", Json(201, schema::<App>))
            .body(schema::<apps::ApplicationFields>)
            .needs("Application.ReadWrite.All"),
        op(get.clone(), "/applications/{id}", web::to(admin::get_application), "Get an application", Json(200, schema::<App>))
            .needs("Application.Read.All"),
        op(patch.clone(), "/applications/{id}", web::to(admin::update_application), "Change an application", NoContent)
            .body(schema::<apps::ApplicationFields>)
            .needs("Application.ReadWrite.All"),
        op(delete.clone(), "/applications/{id}", web::to(admin::delete_application), "Delete an application", NoContent)
            .needs("Application.ReadWrite.All"),
        op(
            post.clone(),
            "/applications/{id}/addPassword",
            web::to(admin::add_password),
            "Add a client secret",
            Json(200, schema::<apps::GraphPasswordCredential>),
        )
        .body(schema::<apps::AddPassword>)
        .needs("Application.ReadWrite.All"),
        op(post.clone(), "/applications/{id}/removePassword", web::to(admin::remove_password), "Remove a client secret", NoContent)
            .body(schema::<apps::RemovePassword>)
            .needs("Application.ReadWrite.All"),
        op(
            get.clone(),
            "/oauth2PermissionGrants",
            web::to(admin::list_permission_grants),
            "List delegated permission grants (admin consent)",
            Page(schema::<permission_grants::PermissionGrant>),
        )
        .needs("Application.Read.All"),
        op(
            post.clone(),
            "/oauth2PermissionGrants",
            web::to(admin::grant_permissions),
            "Grant a client delegated permissions for every user",
            Json(201, schema::<permission_grants::PermissionGrant>),
        )
        .body(schema::<permission_grants::NewPermissionGrant>)
        .needs("Application.ReadWrite.All"),
        op(
            get.clone(),
            "/oauth2PermissionGrants/{id}",
            web::to(admin::get_permission_grant),
            "Get a delegated permission grant",
            Json(200, schema::<permission_grants::PermissionGrant>),
        )
        .needs("Application.Read.All"),
        op(
            patch.clone(),
            "/oauth2PermissionGrants/{id}",
            web::to(admin::change_permission_grant),
            "Change a delegated permission grant's scope",
            NoContent,
        )
        .body(schema::<permission_grants::PermissionGrantChange>)
        .needs("Application.ReadWrite.All"),
        op(
            delete.clone(),
            "/oauth2PermissionGrants/{id}",
            web::to(admin::remove_permission_grant),
            "Remove a delegated permission grant",
            NoContent,
        )
        .needs("Application.ReadWrite.All"),
        op(get.clone(), "/organization/{org}/branding", web::to(admin::get_branding), "Company branding", Json(200, schema::<Branding>))
            .needs("OrganizationalBranding.Read.All"),
        op(
            patch.clone(),
            "/organization/{org}/branding",
            web::to(admin::update_branding),
            "Change company branding (null clears a field)",
            Json(200, schema::<Branding>),
        )
        .body(schema::<BrandingChange>)
        .needs("OrganizationalBranding.ReadWrite.All"),
        op(
            get.clone(),
            "/organization/{org}/branding/localizations",
            web::to(admin::list_branding_localizations),
            "Company branding per language",
            All(schema::<Branding>),
        )
        .needs("OrganizationalBranding.Read.All"),
        op(
            get.clone(),
            "/organization/{org}/branding/localizations/{lang}",
            web::to(admin::get_branding_localization),
            "Company branding for one language",
            Json(200, schema::<Branding>),
        )
        .needs("OrganizationalBranding.Read.All"),
        op(
            patch.clone(),
            "/organization/{org}/branding/localizations/{lang}",
            web::to(admin::update_branding_localization),
            "Set company branding for one language (created when missing)",
            Json(200, schema::<Branding>),
        )
        .body(schema::<BrandingChange>)
        .needs("OrganizationalBranding.ReadWrite.All"),
        op(
            delete.clone(),
            "/organization/{org}/branding/localizations/{lang}",
            web::to(admin::delete_branding_localization),
            "Remove a language's branding",
            NoContent,
        )
        .needs("OrganizationalBranding.ReadWrite.All"),
        op(
            get.clone(),
            "/organization/{org}/branding/{image}",
            web::to(admin::get_branding_image),
            "A branding image (bannerLogo, backgroundImage)",
            Image,
        )
        .needs("OrganizationalBranding.Read.All"),
        op(
            put.clone(),
            "/organization/{org}/branding/{image}",
            web::to(admin::put_branding_image),
            "Upload a branding image (PNG or JPEG)",
            NoContent,
        )
        .image_body()
        .needs("OrganizationalBranding.ReadWrite.All"),
        op(
            delete.clone(),
            "/organization/{org}/branding/{image}",
            web::to(admin::delete_branding_image),
            "Remove a branding image",
            NoContent,
        )
        .needs("OrganizationalBranding.ReadWrite.All"),
        op(
            get.clone(),
            "/organization/{org}/branding/localizations/{lang}/{image}",
            web::to(admin::get_branding_image),
            "A language's branding image",
            Image,
        )
        .needs("OrganizationalBranding.Read.All"),
        op(
            put.clone(),
            "/organization/{org}/branding/localizations/{lang}/{image}",
            web::to(admin::put_branding_image),
            "Upload a language's branding image (PNG or JPEG)",
            NoContent,
        )
        .image_body()
        .needs("OrganizationalBranding.ReadWrite.All"),
        op(
            delete.clone(),
            "/organization/{org}/branding/localizations/{lang}/{image}",
            web::to(admin::delete_branding_image),
            "Remove a language's branding image",
            NoContent,
        )
        .needs("OrganizationalBranding.ReadWrite.All"),
        op(
            get.clone(),
            "/roleManagement/directory/roleDefinitions",
            web::to(admin::role_definitions),
            "List directory roles",
            All(schema::<roles::RoleDefinition>),
        )
        .needs("RoleManagement.Read.Directory"),
        op(
            get.clone(),
            "/roleManagement/directory/roleDefinitions/{id}",
            web::to(admin::role_definition),
            "Get a directory role",
            Json(200, schema::<roles::RoleDefinition>),
        )
        .needs("RoleManagement.Read.Directory"),
        op(
            get.clone(),
            "/roleManagement/directory/roleAssignments",
            web::to(admin::list_role_assignments),
            "List role assignments",
            Page(schema::<roles::RoleAssignment>),
        )
        .needs("RoleManagement.Read.Directory"),
        op(
            post,
            "/roleManagement/directory/roleAssignments",
            web::to(admin::assign_role),
            "Assign a role",
            Json(201, schema::<roles::RoleAssignment>),
        )
        .body(schema::<roles::NewRoleAssignment>)
        .needs("RoleManagement.ReadWrite.Directory"),
        op(
            get,
            "/roleManagement/directory/roleAssignments/{id}",
            web::to(admin::get_role_assignment),
            "Get a role assignment",
            Json(200, schema::<roles::RoleAssignment>),
        )
        .needs("RoleManagement.Read.Directory"),
        op(
            delete,
            "/roleManagement/directory/roleAssignments/{id}",
            web::to(admin::remove_role_assignment),
            "Remove a role assignment",
            NoContent,
        )
        .needs("RoleManagement.ReadWrite.Directory"),
    ]
}

/// A resource of the admin API and its methods (each route is given its
/// method here, so `Allow` lists exactly these).
fn graph_resource(path: &str, routes: Vec<(Method, actix_web::Route)>) -> actix_web::Resource {
    let allow: Vec<&'static str> = routes.iter().map(|(method, _)| method_label(method)).collect();
    let resource = routes.into_iter().fold(web::resource(path), |resource, (method, route)| resource.route(route.method(method)));
    resource.default_service(web::to(move || admin::method_not_allowed(allow.join(", "))))
}

/// Malformed forms and queries answer as OAuth `invalid_request`, in JSON.
pub fn extractor_errors(cfg: &mut web::ServiceConfig) {
    fn invalid(message: String) -> actix_web::Error {
        OAuthFailure::from(OAuthError::invalid_request(message)).into()
    }
    cfg.app_data(web::FormConfig::default().error_handler(|e, _| invalid(format!("malformed form: {e}"))))
        .app_data(web::QueryConfig::default().error_handler(|e, _| invalid(format!("malformed query: {e}"))));
}

/// The client's address: the peer, or, when the peer is one of
/// `server.trusted_proxies`, the nearest `X-Forwarded-For` hop (walking
/// from the right) that is not a trusted proxy. Hops left of it are the
/// client's own word and never used; a hop that does not parse stops the
/// walk at the trusted proxy that added it. Attempt limits and lockouts key
/// on this address.
pub fn client_address(idp: &crate::idp::Idp, req: &actix_web::HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip().to_canonical()) else { return String::new() };
    let trusted = |ip: &std::net::IpAddr| idp.trusted_proxies.iter().any(|net| net.contains(ip));
    let hops: Vec<&str> =
        req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        if !trusted(&client) {
            break;
        }
        match parse_hop(hop) {
            Some(ip) => client = ip,
            None => break,
        }
    }
    client.to_string()
}

/// One `X-Forwarded-For` entry: an address, `a.b.c.d:port` or `[v6]:port`.
fn parse_hop(hop: &str) -> Option<std::net::IpAddr> {
    if let Ok(ip) = hop.parse::<std::net::IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip().to_canonical())
}

/// The token of an `Authorization: Bearer` header.
/// A streamed body (a request's, or a multipart field's) read whole, up to
/// `limit` bytes; `what` names it in the refusal.
pub(crate) async fn read_bounded<S, E>(mut body: S, limit: usize, what: &str) -> Result<Vec<u8>, crate::error::Error>
where
    S: futures_util::Stream<Item = Result<web::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    use futures_util::StreamExt;
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| crate::error::Error::Invalid(format!("{what}: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            return Err(crate::error::Error::Invalid(format!("{what} is larger than {limit} bytes")));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

pub fn bearer_token(req: &actix_web::HttpRequest) -> Option<&str> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"));
    if https {
        headers.add(("Strict-Transport-Security", "max-age=31536000"))
    } else {
        headers
    }
}

/// The caller's `client-request-id` (Entra's and MSAL's correlation id),
/// if it is a UUID or a short token; anything else is replaced by a new id.
fn client_request_id(req: &actix_web::dev::ServiceRequest) -> String {
    let sent = req.headers().get("client-request-id").and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or_default();
    let token = (1..=64).contains(&sent.len()) && sent.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if token {
        sent.to_string()
    } else {
        uuid::Uuid::new_v4().to_string()
    }
}

/// Gives every request a `request-id` (new) and a `client-request-id`
/// (the caller's, echoed), both on the response and in a span that every
/// log line of the request carries, with the client's address, user agent
/// and tenant (the first path segment); handlers add the app (`client_id`).
/// Then logs method, path (never the query: it may carry codes or
/// hints), status and time.
pub fn access_log<S, B>(
    req: actix_web::dev::ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>>
where
    S: Service<actix_web::dev::ServiceRequest, Response = actix_web::dev::ServiceResponse<B>, Error = actix_web::Error>,
{
    use tracing::Instrument;
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = client_request_id(&req);
    let client_ip = req.app_data::<web::Data<Idp>>().map(|idp| client_address(idp, req.request())).unwrap_or_default();
    let user_agent: String =
        req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default().chars().take(200).collect();
    let tenant: String = req.path().trim_start_matches('/').split('/').next().unwrap_or_default().chars().take(64).collect();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        client_request_id = %client_request_id,
        client_ip = %client_ip,
        user_agent = %user_agent,
        tenant = %tenant,
        client_id = tracing::field::Empty,
    );
    let (method, path, started) = (req.method().clone(), req.path().to_string(), quanta::Instant::now());
    let context =
        RequestContext { request_id: request_id.clone(), client_request_id: client_request_id.clone(), ip_address: client_ip, user_agent };
    let logged = span.clone();
    let lang = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map(crate::i18n::from_accept_language);
    let work = crate::i18n::scope(lang.unwrap_or_default(), audit::context::scope(context, srv.call(req)));
    work.instrument(span).map(move |result| {
        let mut response = result?;
        let elapsed = started.elapsed().as_secs_f64();
        // The route's template, never the path itself: bounded labels.
        // `{tenant}` is written `:tenant`: braces inside label values trip
        // up simple exposition parsers.
        let route = || response.request().match_pattern().map_or_else(|| "unmatched".into(), |p| p.replace('{', ":").replace('}', ""));
        crate::telemetry::request(&path, route, method_label(&method), response.status().as_u16(), elapsed);
        let headers = response.headers_mut();
        for (name, value) in [("request-id", request_id), ("client-request-id", client_request_id)] {
            if let Ok(value) = header::HeaderValue::from_str(&value) {
                headers.insert(header::HeaderName::from_static(name), value);
            }
        }
        logged.in_scope(|| tracing::info!(%method, %path, status = response.status().as_u16(), ms = elapsed * 1e3, "request"));
        Ok(response)
    })
}

/// A method as a metrics label: any token is a valid method to actix, so
/// names outside HTTP's usual set count together.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Names the app a request is for in its log lines (the request's span).
pub fn log_client(client_id: &str) {
    let shown: String = client_id.chars().take(128).collect();
    tracing::Span::current().record("client_id", shown.as_str());
}
