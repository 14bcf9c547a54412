//! The sahelwatch HTTP API under `/api/v1`, built with axum, documented by an
//! OpenAPI 3.1 document generated from the handlers (utoipa) and served at
//! `/api/v1/openapi.json`. Routes live in `routes/<resource>.rs`; every error
//! goes through the one catalogue in [`error`].
//!
//! [`router`] builds the whole application from a state, so tests can call it
//! directly; [`serve`] runs it on a listener.
//!
//! This crate holds no business logic and no SQL: it parses, calls
//! `sahelwatch-app`, and renders.

pub mod auth;
pub mod error;
pub mod mqtt;
pub mod routes;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use error::{ApiError, Code};
use sahelwatch_app::App;
use std::sync::Arc;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    /// Serve TLP:CLEAR to unauthenticated callers (off by default).
    pub public_api: bool,
    /// Mark the session cookie `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy
    /// that sets it; otherwise clients could pick their own address).
    pub trust_forwarded_for: bool,
}

impl AppState {
    /// The state with the defaults: no public API, cookies without `Secure`
    /// (sahelwatch itself serves plain HTTP on loopback, behind a TLS proxy).
    pub fn new(app: Arc<App>) -> AppState {
        AppState {
            app,
            public_api: false,
            secure_cookies: false,
            trust_forwarded_for: false,
        }
    }
}

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                auth::SESSION_COOKIE,
                "Browser session from POST /api/v1/auth/login; changes need the X-CSRF-Token header",
            ))),
        );
    }
}

/// The errors every operation of a kind can answer, documented once rather
/// than on each handler: credentials missing or not valid (401); a body that
/// is not JSON (415), too large (413) or unreadable (400), or that names an
/// item the caller may not see (404); a parameter that is invalid (400); an
/// id that names nothing the caller may see (404). Query parameters that are text must not
/// be empty (every one is refused empty).
struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::schema::{Schema, SchemaType, Type};
        use utoipa::openapi::{RefOr, ResponseBuilder, content::ContentBuilder};
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                                "ApiError",
                            ))))
                            .build(),
                    )
                    .build(),
            )
        };
        // A required field is never null: the handlers treat a null as absent.
        if let Some(components) = openapi.components.as_mut() {
            for schema in components.schemas.values_mut() {
                let RefOr::T(Schema::Object(o)) = schema else {
                    continue;
                };
                for name in o.required.clone() {
                    if let Some(RefOr::T(Schema::Object(p))) = o.properties.get_mut(&name)
                        && let SchemaType::Array(types) = &p.schema_type
                        && types.contains(&Type::Null)
                    {
                        let rest: Vec<Type> = types
                            .iter()
                            .filter(|t| **t != Type::Null)
                            .cloned()
                            .collect();
                        p.schema_type = match rest.as_slice() {
                            [one] => SchemaType::Type(one.clone()),
                            _ => SchemaType::Array(rest),
                        };
                    }
                }
            }
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_id = path.contains('{');
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let r = &mut op.responses.responses;
                let mut add = |code: &str, description: &str| {
                    r.entry(code.to_string())
                        .or_insert_with(|| error(description));
                };
                if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add(
                        "401",
                        "Authentication required, or the credentials are not valid",
                    );
                }
                if op.request_body.is_some() {
                    add("400", "The body or a field of it is invalid (named)");
                    add(
                        "404",
                        "An item the body names does not exist, or is not one the caller may see",
                    );
                    add("413", "The body is larger than the limit");
                    add("415", "The body is not of a type this operation takes");
                }
                let params = op.parameters.iter_mut().flatten();
                let mut any_param = false;
                for p in params {
                    any_param = true;
                    let RefOr::T(p) = p else { continue };
                    if p.parameter_in != ParameterIn::Query {
                        continue;
                    }
                    if let Some(RefOr::T(Schema::Object(o))) = &mut p.schema {
                        let text = match &o.schema_type {
                            SchemaType::Type(t) => *t == Type::String,
                            SchemaType::Array(ts) => ts.contains(&Type::String),
                            SchemaType::AnyValue => false,
                        };
                        if text && o.min_length.is_none() && o.enum_values.is_none() {
                            o.min_length = Some(1);
                        }
                    }
                }
                if any_param || has_id {
                    add("400", "A parameter is invalid (named)");
                }
                if has_id {
                    add("404", "No such item, or not one the caller may see");
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sahelwatch API",
        description = "Security incidents of the Sahel: search, counts, exports and the gazetteer. \
            Errors are JSON objects {message, code, type, details}.",
        license(name = "AGPL-3.0-or-later"),
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "incidents", description = "Security incidents in the ACLED vocabulary"),
        (name = "places", description = "The GeoNames gazetteer"),
        (name = "reports", description = "Reports: filing, extraction, fusion into incidents, corroboration and contradictions"),
        (name = "cases", description = "Kidnap cases and their steps"),
        (name = "analytics", description = "Trends, change, hotspots, approach toward a place, area briefs, charts"),
        (name = "routes", description = "Road networks, road risk and route planning"),
        (name = "convoys", description = "Convoys, positions from their trackers, alerts, webhooks"),
        (name = "auth", description = "Signing in, sessions, who am I"),
        (name = "accounts", description = "Organisations, users, API tokens, sharing groups, audit log"),
        (name = "system", description = "Service state"),
    )
)]
struct ApiDoc;

/// Largest request body accepted (no endpoint takes a body yet).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The router and the OpenAPI document it implements.
pub fn router_and_doc(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (api, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::incidents::router())
        .merge(routes::analytics::router())
        .merge(routes::roads::router())
        .merge(routes::convoys::router())
        .merge(routes::places::router())
        .merge(routes::session::router())
        .merge(routes::accounts::router())
        .merge(routes::audit::router())
        .merge(routes::reports::router())
        .merge(routes::stix::router())
        .merge(routes::stream::router())
        .merge(routes::system::router())
        .merge(routes::ui::router())
        .split_for_parts();
    let mut doc = doc;
    // After the merge: the routers bring the paths.
    utoipa::Modify::modify(&CommonErrors, &mut doc);
    let doc_json = Arc::new(doc.clone());
    let router = api
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = Arc::clone(&doc_json);
                async move { axum::Json((*doc).clone()) }
            }),
        )
        .merge(routes::ui::files())
        .merge(routes::taxii::router())
        .fallback(|| async { ApiError::new(Code::RouteNotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                Code::MethodNotAllowed,
                "this route does not accept that method",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    (router, doc)
}

pub use routes::convoys::osmand_router;

/// The application router.
pub fn router(state: AppState) -> Router {
    router_and_doc(state).0
}

/// How long open connections (live streams) may keep a stopping server up.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Serve until `shutdown` resolves; then requests in progress may finish,
/// and connections still open after [`SHUTDOWN_GRACE`] (live streams never
/// finish by themselves) are dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = stopping.send(());
    };
    let server = axum::serve(listener, router(state)).with_graceful_shutdown(signal);
    tokio::select! {
        r = server => r,
        _ = async {
            if stopped.await.is_ok() {
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => {
            tracing::warn!("connections still open {} s after the stop: closed", SHUTDOWN_GRACE.as_secs());
            Ok(())
        }
    }
}

/// Serve the OsmAnd protocol for trackers on its own listener, until the
/// process ends.
pub async fn serve_osmand(
    listener: tokio::net::TcpListener,
    state: AppState,
) -> std::io::Result<()> {
    axum::serve(listener, osmand_router(state)).await
}
