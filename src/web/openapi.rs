//! The admin API as data: each operation's route and what `/openapi.json`
//! says of it, in one table (`web::admin_operations`). The router is built
//! from that table and the document from the same table, with schemas
//! derived from the request and response types (utoipa), so neither can
//! drift from the other.

use actix_web::http::Method;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{AuthorizationCode, ClientCredentials, Flow, OAuth2, Scopes, SecurityRequirement, SecurityScheme};
use utoipa::openapi::server::ServerBuilder;
use utoipa::openapi::{ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths};
use utoipa::openapi::{Ref, RefOr, Required, ResponseBuilder, ResponsesBuilder, Schema};
use utoipa::ToSchema;

use crate::directory::access::ADMIN_RESOURCE;

/// Schemas the document collects as it goes (`components.schemas`).
type Schemas = Vec<(String, RefOr<Schema>)>;

/// A reference to `T`'s schema, registering it (and what it nests).
type SchemaOf = fn(&mut Schemas) -> RefOr<Schema>;

/// `T`'s schema, for an operation's table entry.
pub fn schema<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    let name = T::name().to_string();
    if !schemas.iter().any(|(n, _)| *n == name) {
        schemas.push((name.clone(), T::schema()));
        T::schemas(schemas);
    }
    RefOr::Ref(Ref::from_schema_name(name))
}

/// Any JSON object (the logs' entries, whose shape is Graph's and documented in docs/contract.md).
pub fn object(_: &mut Schemas) -> RefOr<Schema> {
    RefOr::T(Schema::Object(ObjectBuilder::new().schema_type(Type::Object).build()))
}

/// What a successful call answers.
#[derive(Clone, Copy)]
pub enum Answer {
    /// 200, or 201 for a creation, with one `T`.
    Json(u16, SchemaOf),
    /// 200 with a page of `T`s (`value`, `@odata.nextLink`); takes `$top`, `$skiptoken`, `$filter`.
    Page(SchemaOf),
    /// 200 with `value`, every item at once.
    All(SchemaOf),
    /// 204.
    NoContent,
    /// 200 with a CSV report.
    Csv,
    /// 200 with a PNG or JPEG image.
    Image,
}

/// One operation of the admin API.
pub struct Operation {
    pub method: Method,
    /// Under `/{tenant}/v1.0`.
    pub path: &'static str,
    pub route: actix_web::Route,
    pub summary: &'static str,
    /// The application permission (or delegated scope) it takes, for the reader.
    pub permission: &'static str,
    pub body: Option<SchemaOf>,
    /// The body is a PNG or JPEG image.
    pub image_body: bool,
    pub answer: Answer,
}

impl Operation {
    pub fn new(method: Method, path: &'static str, route: actix_web::Route, summary: &'static str, answer: Answer) -> Operation {
        Operation { method, path, route, summary, permission: "", body: None, image_body: false, answer }
    }

    pub fn body(mut self, body: SchemaOf) -> Operation {
        self.body = Some(body);
        self
    }

    pub fn image_body(mut self) -> Operation {
        self.image_body = true;
        self
    }

    pub fn needs(mut self, permission: &'static str) -> Operation {
        self.permission = permission;
        self
    }
}

fn http_method(method: &Method) -> HttpMethod {
    match *method {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

const IMAGE_TYPES: [&str; 2] = ["image/png", "image/jpeg"];

/// Raw bytes (an image).
fn binary() -> utoipa::openapi::Content {
    let bytes = ObjectBuilder::new().schema_type(Type::String).content_media_type("application/octet-stream");
    ContentBuilder::new().schema(Some(bytes)).build()
}

fn json(schema: RefOr<Schema>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

/// Graph's error body, `{"error": {"code", "message"}}`.
fn graph_error() -> Schema {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    let inner = ObjectBuilder::new().property("code", text()).property("message", text()).required("code").required("message");
    Schema::Object(ObjectBuilder::new().property("error", inner).required("error").build())
}

fn page_of(item: RefOr<Schema>, next_link: bool) -> RefOr<Schema> {
    let mut page = ObjectBuilder::new().property("value", ArrayBuilder::new().items(item)).required("value");
    if next_link {
        page = page
            .property("@odata.nextLink", ObjectBuilder::new().schema_type(Type::String))
            .property("@odata.count", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)));
    }
    RefOr::T(Schema::Object(page.build()))
}

fn query(name: &str, description: &str, schema: ObjectBuilder) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// The OpenAPI 3.1 document of `operations`, served for `tenants` (names)
/// at `base` (the public base URL).
pub fn document(operations: &[Operation], base: &str, tenants: &[String]) -> OpenApi {
    let mut schemas = Schemas::new();
    let mut paths = Paths::new();
    for op in operations {
        let mut operation = OperationBuilder::new()
            .summary(Some(op.summary))
            .operation_id(Some(operation_id(op)))
            .description((!op.permission.is_empty()).then(|| format!("Needs {}.", op.permission)))
            .security(SecurityRequirement::new("oauth2", [format!("{ADMIN_RESOURCE}/.default")]));
        // The tenant, by name (its id works too).
        let tenant = ParameterBuilder::new()
            .name("tenant")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .schema(Some(Ref::from_schema_name("Tenant")));
        operation = operation.parameter(tenant);
        for name in op.path.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}')) {
            let parameter = ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String).min_length(Some(1))));
            operation = operation.parameter(parameter);
        }
        if let Answer::Page(_) = op.answer {
            let top = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(999));
            operation = operation
                .parameter(query("$top", "Items per page (default 100).", top))
                .parameter(query(
                    "$skiptoken",
                    "Where to continue: from `@odata.nextLink`.",
                    ObjectBuilder::new().schema_type(Type::String),
                ))
                .parameter(query(
                    "$count",
                    "`true`: the first page also gives `@odata.count`, how many match in all (users, groups, applications, policies, providers).",
                    ObjectBuilder::new().schema_type(Type::Boolean),
                ))
                .parameter(query(
                    "$filter",
                    "Clauses joined by `and`: `property eq 'text'`, `property eq true`, `startswith(property,'text')`.",
                    ObjectBuilder::new().schema_type(Type::String),
                ));
        }
        if let Some(body) = op.body {
            let body = RequestBodyBuilder::new().content("application/json", json(body(&mut schemas))).required(Some(Required::True));
            operation = operation.request_body(Some(body.build()));
        } else if op.image_body {
            let mut body = RequestBodyBuilder::new().required(Some(Required::True));
            for content_type in IMAGE_TYPES {
                body = body.content(content_type, binary());
            }
            operation = operation.request_body(Some(body.build()));
        } else if matches!(op.answer, Answer::Csv) {
            let csv = ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String))).build();
            operation =
                operation.request_body(Some(RequestBodyBuilder::new().content("text/csv", csv).required(Some(Required::True)).build()));
        }
        let success = match op.answer {
            Answer::Json(status, item) => (status, Some(("application/json", item(&mut schemas)))),
            Answer::Page(item) => (200, Some(("application/json", page_of(item(&mut schemas), true)))),
            Answer::All(item) => (200, Some(("application/json", page_of(item(&mut schemas), false)))),
            Answer::NoContent => (204, None),
            Answer::Image => (200, None),
            Answer::Csv => (200, Some(("text/csv", RefOr::T(Schema::Object(ObjectBuilder::new().schema_type(Type::String).build()))))),
        };
        let mut ok = ResponseBuilder::new().description("Success");
        if let Some((content_type, schema)) = success.1 {
            ok = ok.content(content_type, json(schema));
        }
        if let Answer::Image = op.answer {
            for content_type in IMAGE_TYPES {
                ok = ok.content(content_type, binary());
            }
        }
        let mut responses = ResponsesBuilder::new().response(success.0.to_string(), ok);
        for (status, what) in [
            ("400", "The request is malformed; the message names the field"),
            ("401", "No valid access token of this tenant for the admin API"),
            ("403", "The caller lacks the permission or role; the message names it"),
            ("404", "No such object"),
            ("409", "It exists already, or changed meanwhile: read again and retry"),
            ("412", "`If-Match` names a version that is no longer current (policies and cross-tenant settings)"),
        ] {
            let error =
                ResponseBuilder::new().description(what).content("application/json", json(Ref::from_schema_name("GraphError").into()));
            responses = responses.response(status, error);
        }
        paths.add_path_operation(format!("/{{tenant}}/v1.0{}", op.path), vec![http_method(&op.method)], operation.responses(responses));
    }

    let first = tenants.first().cloned().unwrap_or_default();
    let scopes = || Scopes::one(format!("{ADMIN_RESOURCE}/.default"), "The admin API, with the caller's permissions".to_string());
    let oauth = OAuth2::with_description(
        [
            Flow::ClientCredentials(ClientCredentials::new(format!("{base}/{first}/oauth2/v2.0/token"), scopes())),
            Flow::AuthorizationCode(AuthorizationCode::new(
                format!("{base}/{first}/oauth2/v2.0/authorize"),
                format!("{base}/{first}/oauth2/v2.0/token"),
                scopes(),
            )),
        ],
        "Each tenant's own token endpoint issues its admin API tokens; the URLs shown are the first tenant's.",
    );
    schemas.push(("GraphError".into(), RefOr::T(graph_error())));
    let names =
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(tenants.to_vec())).description(Some("A tenant of this server"));
    schemas.push(("Tenant".into(), RefOr::T(Schema::Object(names.build()))));
    let components = ComponentsBuilder::new().schemas_from_iter(schemas).security_scheme("oauth2", SecurityScheme::OAuth2(oauth));
    let server = ServerBuilder::new().url(base);
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("b2b-idp admin API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("Microsoft Graph's shapes (v1.0) under each tenant: docs/contract.md, \"Admin API\".")),
        )
        .servers(Some(vec![server.build()]))
        .paths(paths)
        .components(Some(components.build()))
        .build()
}

/// A stable, unique name for client generators: the method and the path's words.
fn operation_id(op: &Operation) -> String {
    let mut id = op.method.as_str().to_ascii_lowercase();
    for word in op.path.split('/').filter(|w| !w.is_empty()) {
        let word = word.trim_start_matches('$').trim_start_matches('{').trim_end_matches('}');
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            id.push(first.to_ascii_uppercase());
            id.extend(chars);
        }
    }
    id
}
