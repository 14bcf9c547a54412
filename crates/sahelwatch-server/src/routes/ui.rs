//! The web interface: its files, embedded in the binary from
//! `crates/sahelwatch-server/web/` (rust-embed; debug builds read them from
//! the checkout), served at `/` and `/ui/...`; and the base map's layers
//! under `/api/v1/basemap/...` (admin-1 boundaries, towns), so the map needs
//! no tile server and no network.

use super::Query;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Code};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sahelwatch_app::ParamError;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(rust_embed::Embed)]
#[folder = "web/"]
struct Web;

/// Content security policy of the page: everything from this origin only
/// (MapLibre sets inline styles and makes blob: workers for some tasks).
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; worker-src 'self' blob:; \
     style-src 'self' 'unsafe-inline'; connect-src 'self'; font-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The page and its files (not in the OpenAPI document: not an API).
pub fn files() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/", axum::routing::get(index))
        .route("/ui/{*path}", axum::routing::get(ui_file))
        .layer(tower_http::compression::CompressionLayer::new())
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(admin1))
        .routes(routes!(towns))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "geojson" => "application/json",
        "svg" => "image/svg+xml",
        "woff2" => "font/woff2",
        "png" => "image/png",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn embedded(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Web::get(path) else {
        return ApiError::new(Code::RouteNotFound, format!("no such file: /ui/{path}"))
            .into_response();
    };
    let hash = file.metadata.sha256_hash();
    let etag: String = hash[..12].iter().map(|b| format!("{b:02x}")).collect();
    let etag = format!("\"{etag}\"");
    let mut out = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(axum::body::Body::from(file.data.into_owned()));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(path)),
        );
        r
    };
    let h = out.headers_mut();
    // Vendored files sit in versioned folders: they never change.
    let cache = if path.starts_with("vendor/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if path.ends_with(".html") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    out
}

async fn index(headers: HeaderMap) -> Response {
    embedded("index.html", &headers)
}

async fn ui_file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    embedded(&path, &headers)
}

/// The bundled Natural Earth admin-1 polygons of the region (public domain),
/// as GeoJSON: properties `country` (ISO alpha-2), `admin1`, `name`.
///
/// Sent gzipped (`Content-Encoding: gzip`) to clients that accept it.
#[utoipa::path(
    get,
    path = "/api/v1/basemap/admin1",
    tag = "places",
    responses(
        (status = 200, description = "A GeoJSON FeatureCollection", content_type = "application/geo+json"),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn admin1(_caller: Caller, headers: HeaderMap) -> Result<Response, ApiError> {
    let gz = sahelwatch_app::analytics::area::ADMIN1_GZ;
    let accepts_gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut r = if accepts_gzip {
        let mut r = Response::new(axum::body::Body::from(gz));
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        use std::io::Read;
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut raw)
            .map_err(|e| ApiError::from(sahelwatch_app::AppError::Internal(e.to_string())))?;
        Response::new(axum::body::Body::from(raw))
    };
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/geo+json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Ok(r)
}

/// Town-label parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TownParams {
    /// Only towns of at least this many people (default 10000).
    #[param(value_type = Option<u64>)]
    pub min_population: Option<String>,
}

/// Populated places of the gazetteer as GeoJSON points for the map's labels:
/// properties `name` and `population`, largest first.
#[utoipa::path(
    get,
    path = "/api/v1/basemap/towns",
    tag = "places",
    params(TownParams),
    responses(
        (status = 200, description = "A GeoJSON FeatureCollection", content_type = "application/geo+json"),
        (status = 400, description = "A parameter is invalid", body = ApiError),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn towns(
    _caller: Caller,
    State(state): State<AppState>,
    Query(p): Query<TownParams>,
) -> Result<Response, ApiError> {
    let min = match p.min_population.as_deref() {
        None => 10_000,
        Some(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                ApiError::invalid_params(vec![ParamError::new(
                    "min_population",
                    s,
                    "must be a whole number of people, 0 or more",
                )])
            })?,
    };
    let gaz = state.app.gazetteer().await?;
    let mut towns: Vec<_> = gaz
        .places()
        .iter()
        .filter(|p| p.feature_class == "P" && p.population >= min)
        .collect();
    towns.sort_by(|a, b| b.population.cmp(&a.population).then(a.id.cmp(&b.id)));
    // The same town can come from two dumps (cities500 and a country dump).
    let mut seen = std::collections::HashSet::new();
    let features: Vec<serde_json::Value> = towns
        .into_iter()
        .filter(|p| seen.insert(p.id))
        .map(|p| {
            serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p.longitude, p.latitude]},
                "properties": {"id": p.id, "name": p.name, "population": p.population,
                    "country": p.country.map(|c| c.as_str().to_string())},
            })
        })
        .collect();
    let body = serde_json::json!({"type": "FeatureCollection", "features": features});
    let mut r = axum::Json(body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/geo+json"),
    );
    Ok(r)
}
