//! `/api/v1/reports`: report texts. Today: what the extraction finds in a
//! text, without storing it.

use crate::AppState;
use crate::auth::User;
use crate::error::{ApiError, Code};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(extract))
}

/// A text to read, as JSON.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractRequest {
    /// The report's text (at most 256 KiB).
    pub text: String,
    /// Publication date (YYYY-MM-DD): relative dates ("late Monday", "hier") resolve against it.
    #[schema(value_type = String, format = Date)]
    pub published: NaiveDate,
    /// `en` or `fr`; detected when absent.
    pub lang: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtractQuery {
    published: Option<String>,
    lang: Option<String>,
}

/// What a report text says: language, dates (with the event's), actors,
/// places resolved to gazetteer entries (or road segments), the ACLED
/// sub-event type, deaths and hostages — each with its exact span in the
/// text and a confidence. Nothing is stored.
///
/// Send JSON (`{"text", "published", "lang"}`), or the raw text as
/// `text/plain` with `?published=YYYY-MM-DD[&lang=fr]` (then bytes that are
/// not UTF-8 are refused with their offset). Empty, binary or oversized texts
/// are refused; a text with no place is read and flagged `unlocated`.
#[utoipa::path(
    post,
    path = "/api/v1/reports/extract",
    tag = "reports",
    request_body(content = ExtractRequest, description = "The text and its publication date (or text/plain with query parameters)"),
    params(
        ("published" = Option<String>, Query, description = "With text/plain: the publication date"),
        ("lang" = Option<String>, Query, description = "With text/plain: en or fr"),
    ),
    responses(
        (status = 200, description = "What was found", body = Object),
        (status = 400, description = "The text or a parameter is invalid", body = ApiError),
        (status = 401, description = "Authentication required", body = ApiError),
        (status = 413, description = "The text is too large", body = ApiError),
        (status = 415, description = "Neither JSON nor text/plain", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn extract(
    State(state): State<AppState>,
    _user: User,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::Json<sahelwatch_app::reports::Extraction>, ApiError> {
    let body = body.map_err(|e| {
        ApiError::from_body(e, || {
            format!(
                "the text is larger than the limit of {} bytes",
                sahelwatch_app::reports::DEFAULT_MAX_BYTES
            )
        })
    })?;
    let base = super::media_type(&headers);
    let q: ExtractQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::new(Code::InvalidQueryParameter, e.to_string()))?;
    let (text, published, lang) = match base {
        "application/json" => {
            if q.published.is_some() || q.lang.is_some() {
                return Err(ApiError::new(
                    Code::InvalidQueryParameter,
                    "with a JSON body, give published and lang in the body",
                ));
            }
            let r: ExtractRequest = serde_json::from_slice(&body).map_err(|e| {
                ApiError::new(
                    Code::InvalidBody,
                    format!("the body is not a valid request: {e}"),
                )
            })?;
            (r.text.into_bytes(), r.published, r.lang)
        }
        "text/plain" => {
            let p = q.published.ok_or_else(|| {
                ApiError::new(
                    Code::InvalidQueryParameter,
                    "published=YYYY-MM-DD is required with text/plain",
                )
            })?;
            let published = NaiveDate::parse_from_str(&p, "%Y-%m-%d").map_err(|_| {
                ApiError::new(
                    Code::InvalidQueryParameter,
                    format!("published='{p}': expected YYYY-MM-DD"),
                )
            })?;
            (body.to_vec(), published, q.lang)
        }
        _ => {
            return Err(ApiError::new(
                Code::UnsupportedMediaType,
                "send application/json ({\"text\", \"published\"}) or text/plain with ?published=",
            ));
        }
    };
    Ok(axum::Json(
        state
            .app
            .extract_text(&text, published, lang.as_deref())
            .await?,
    ))
}
