//! One module per resource. Handlers parse and validate, call the
//! application layer, and render; they hold no business logic.

pub mod accounts;
pub mod analytics;
pub mod audit;
pub mod convoys;
pub mod incidents;
pub mod places;
pub mod reports;
pub mod roads;
pub mod session;
pub mod stix;
pub mod stream;
pub mod system;
pub mod taxii;
pub mod ui;

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::Uri;

/// `axum::extract::Query`, with rejections rendered by the error catalogue.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::Json` as a body extractor, with rejections rendered by the error catalogue.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

/// The request path and query, as recorded in the audit log.
pub fn audit_path(uri: &Uri) -> String {
    uri.path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| uri.path().to_string())
}

/// Split `key=value` pairs of a raw query string into the values of
/// `special` keys and the rest, re-encoded.
pub fn split_query(
    raw: Option<&str>,
    special: &[&str],
) -> Result<(Vec<(String, String)>, String), ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|e| {
            ApiError::new(
                crate::error::Code::InvalidQueryParameter,
                format!("malformed query string: {e}"),
            )
        })?;
    let (picked, rest): (Vec<_>, Vec<_>) = pairs
        .into_iter()
        .partition(|(k, _)| special.contains(&k.as_str()));
    let rest = serde_urlencoded::to_string(&rest).unwrap_or_default();
    Ok((picked, rest))
}

/// The media type of a request's body, without parameters ("text/plain"
/// for "text/plain; charset=utf-8"); empty when absent.
pub fn media_type(headers: &axum::http::HeaderMap) -> &str {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
}
