//! The admin API (Microsoft Graph's shapes): parse, authorize, call the
//! directory, serialize. Errors come out in Graph's `{"error": {code, message}}`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::directory::{access, users, Tenant};
use crate::error::Error;
use crate::idp::Idp;
use crate::web::bearer_token;
use crate::web::error::{Audience, HttpError};

type GraphResult = Result<HttpResponse, HttpError>;

fn graph(error: impl Into<Error>) -> HttpError {
    HttpError { error: error.into(), audience: Audience::Graph }
}

/// The tenant and the authenticated caller of an admin request.
async fn authorize(idp: &Idp, tenant: &str, req: &HttpRequest) -> Result<(Tenant, access::Caller), HttpError> {
    let tenant = idp.tenant(tenant).await.map_err(graph)?;
    let caller = access::caller(idp, &tenant, bearer_token(req)).await.map_err(graph)?;
    Ok((tenant, caller))
}

pub async fn list_users(idp: web::Data<Idp>, path: web::Path<String>, req: HttpRequest) -> GraphResult {
    let (tenant, caller) = authorize(&idp, &path, &req).await?;
    let value = users::list(&idp, &tenant, &caller).await.map_err(graph)?;
    Ok(HttpResponse::Ok().json(json!({ "value": value })))
}

pub async fn get_user(idp: web::Data<Idp>, path: web::Path<(String, String)>, req: HttpRequest) -> GraphResult {
    let (tenant, id) = path.into_inner();
    let (tenant, caller) = authorize(&idp, &tenant, &req).await?;
    Ok(HttpResponse::Ok().json(users::get(&idp, &tenant, &caller, &id).await.map_err(graph)?))
}

pub async fn create_user(idp: web::Data<Idp>, path: web::Path<String>, req: HttpRequest, body: web::Json<users::NewUser>) -> GraphResult {
    let (tenant, caller) = authorize(&idp, &path, &req).await?;
    let created = users::create(&idp, &tenant, &caller, body.into_inner()).await.map_err(graph)?;
    Ok(HttpResponse::Created().json(created))
}

pub async fn delete_user(idp: web::Data<Idp>, path: web::Path<(String, String)>, req: HttpRequest) -> GraphResult {
    let (tenant, id) = path.into_inner();
    let (tenant, caller) = authorize(&idp, &tenant, &req).await?;
    users::delete(&idp, &tenant, &caller, &id).await.map_err(graph)?;
    Ok(HttpResponse::NoContent().finish())
}
