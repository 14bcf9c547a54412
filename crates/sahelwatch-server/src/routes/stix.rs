//! `/api/v1/stix/bundle`: import a STIX 2.1 bundle. (Exports are
//! `/api/v1/incidents/export?format=stix`.)

use crate::AppState;
use crate::auth::User;
use crate::error::{ApiError, Code};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use sahelwatch_app::StixImport;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest bundle accepted.
pub const MAX_BUNDLE_BYTES: usize = 64 << 20;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_bundle))
        .layer(DefaultBodyLimit::max(MAX_BUNDLE_BYTES))
}

/// Import a STIX 2.1 bundle as incidents of the caller's organisation.
///
/// All or nothing: a malformed object, an unknown marking definition, or an
/// incident without the sahelwatch extension refuses the whole bundle and
/// names each object at fault (`objects[i]`). TLP markings come from each
/// incident's `object_marking_refs` (TLP 1.0 ids are read as TLP 2.0).
/// Re-importing a bundle changes nothing. Analysts and admins only.
#[utoipa::path(
    post,
    path = "/api/v1/stix/bundle",
    tag = "incidents",
    request_body(content = Object, content_type = "application/stix+json", description = "A STIX 2.1 bundle"),
    responses(
        (status = 200, description = "What the import did", body = StixImport),
        (status = 400, description = "The bundle is malformed; nothing was imported", body = ApiError),
        (status = 401, description = "Authentication required", body = ApiError),
        (status = 403, description = "The caller may not import", body = ApiError),
        (status = 413, description = "The bundle is too large", body = ApiError),
        (status = 415, description = "The body is not JSON", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn import_bundle(
    State(state): State<AppState>,
    User(p, _): User,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::Json<StixImport>, ApiError> {
    let base = super::media_type(&headers);
    if !matches!(base, "application/json" | "application/stix+json") {
        return Err(ApiError::new(
            Code::UnsupportedMediaType,
            "the body must be a STIX bundle (Content-Type: application/stix+json or application/json)",
        ));
    }
    let body = body.map_err(|e| {
        ApiError::from_body(e, || {
            format!("the bundle is larger than {} MiB", MAX_BUNDLE_BYTES >> 20)
        })
    })?;
    let doc: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            Code::InvalidBody,
            format!("the bundle is not valid JSON: {e}"),
        )
    })?;
    Ok(axum::Json(
        state
            .app
            .import_stix(&p, &doc, "api:POST /api/v1/stix/bundle")
            .await?,
    ))
}
