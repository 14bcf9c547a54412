//! `/api/v1/reports`: reports filed from open sources and partners, what
//! the extraction finds in them, their fusion into incidents
//! (`/api/v1/reports/{id}/candidates`, `/links`, `/incident`,
//! `/api/v1/incidents/{id}/reports`), and kidnap cases (`/api/v1/cases`).

use super::{Json, Query, audit_path};
use crate::AppState;
use crate::auth::{Caller, User};
use crate::error::{ApiError, Code};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use chrono::NaiveDate;
use sahelwatch_app::cases::{CaseQuery, CaseView, NewStep, OpenCase};
use sahelwatch_app::fusion::{
    Candidate, FiledReport, IncidentReports, LinkView, NewReport, ReportPage, ReportQuery,
    ReportView, Verdict,
};
use sahelwatch_app::{IncidentView, MarkingInput};
use sahelwatch_core::Viewer;
use sahelwatch_core::report::Claims;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(extract))
        .routes(routes!(file_report, list_reports))
        .routes(routes!(get_report))
        .routes(routes!(candidates))
        .routes(routes!(decide))
        .routes(routes!(incident_from_report))
        .routes(routes!(incident_reports))
        .routes(routes!(open_case, list_cases))
        .routes(routes!(get_case))
        .routes(routes!(add_step))
}

fn uid(id: &str) -> Result<Uuid, ApiError> {
    // A malformed id is "not found" too: no hint about what ids look like.
    Uuid::parse_str(id).map_err(|_| ApiError::not_found())
}

/// File a report (analysts, admins): its text, structured claims, or both,
/// graded (source reliability A-F, information credibility 1-6) and marked.
/// The answer holds what was extracted, with spans and confidences, and the
/// candidate incidents it may tell of, with their scores.
#[utoipa::path(
    post,
    path = "/api/v1/reports",
    tag = "reports",
    request_body = NewReport,
    responses(
        (status = 201, description = "Filed", body = FiledReport),
        (status = 400, description = "A field is invalid (named)", body = ApiError),
        (status = 403, description = "The role may not file reports", body = ApiError),
        (status = 413, description = "The text is too large", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn file_report(
    State(state): State<AppState>,
    User(p, _): User,
    Json(body): Json<NewReport>,
) -> Result<(StatusCode, axum::Json<FiledReport>), ApiError> {
    let filed = state.app.file_report(&p, body).await?;
    Ok((StatusCode::CREATED, axum::Json(filed)))
}

/// Reports the caller may see, oldest filed first.
#[utoipa::path(
    get,
    path = "/api/v1/reports",
    tag = "reports",
    params(ReportQuery),
    responses(
        (status = 200, description = "One page", body = ReportPage),
        (status = 400, description = "A parameter is invalid", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn list_reports(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Query(q): Query<ReportQuery>,
) -> Result<axum::Json<ReportPage>, ApiError> {
    Ok(axum::Json(
        state
            .app
            .reports(&caller.viewer, &q, &audit_path(&uri))
            .await?,
    ))
}

/// One report: text, extraction, claims and decisions on incidents the
/// caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/reports/{id}",
    tag = "reports",
    params(("id" = String, Path, description = "Report id (UUID)")),
    responses(
        (status = 200, description = "The report", body = ReportView),
        (status = 404, description = "No such report (or not visible to the caller)", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn get_report(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<axum::Json<ReportView>, ApiError> {
    Ok(axum::Json(
        state
            .app
            .report(&caller.viewer, uid(&id)?, &audit_path(&uri))
            .await?,
    ))
}

/// Incidents the report may tell of, best first (at most 10), with the
/// score and its factors (time, place, kind, actor) and any earlier decision.
#[utoipa::path(
    get,
    path = "/api/v1/reports/{id}/candidates",
    tag = "reports",
    params(("id" = String, Path, description = "Report id (UUID)")),
    responses(
        (status = 200, description = "Candidate incidents", body = Vec<Candidate>),
        (status = 404, description = "No such report (or not visible to the caller)", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn candidates(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<Candidate>>, ApiError> {
    Ok(axum::Json(
        state
            .app
            .candidates(&caller.viewer, uid(&id)?, &audit_path(&uri))
            .await?,
    ))
}

/// A decision on a report and an incident.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub incident: Uuid,
    pub verdict: Verdict,
}

/// Confirm or reject that the report tells of an incident (analysts and
/// admins of the organisation that filed it). Confirming corroborates the
/// incident; confirming an abduction report opens a kidnap case on it, and a
/// later report on an incident with a case adds the step it tells of.
#[utoipa::path(
    post,
    path = "/api/v1/reports/{id}/links",
    tag = "reports",
    params(("id" = String, Path, description = "Report id (UUID)")),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "Recorded", body = LinkView),
        (status = 403, description = "Not the report's organisation, or the role may not", body = ApiError),
        (status = 404, description = "No such report or incident (or not visible)", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn decide(
    State(state): State<AppState>,
    User(p, _): User,
    Path(id): Path<String>,
    Json(body): Json<DecisionRequest>,
) -> Result<axum::Json<LinkView>, ApiError> {
    Ok(axum::Json(
        state
            .app
            .decide(&p, uid(&id)?, body.incident, body.verdict)
            .await?,
    ))
}

/// A new incident from a report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FromReport {
    /// What the report lacks (a place, a date, a type), or corrections.
    pub claims: Option<Claims>,
    pub marking: MarkingInput,
}

/// Create a new incident from the report's claims and confirm the report on
/// it (analysts and admins of the organisation that filed it). Missing
/// fields are named.
#[utoipa::path(
    post,
    path = "/api/v1/reports/{id}/incident",
    tag = "reports",
    params(("id" = String, Path, description = "Report id (UUID)")),
    request_body = FromReport,
    responses(
        (status = 201, description = "Created", body = IncidentView),
        (status = 400, description = "The report lacks what an incident needs (named)", body = ApiError),
        (status = 403, description = "Not the report's organisation, or the role may not", body = ApiError),
        (status = 404, description = "No such report (or not visible)", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn incident_from_report(
    State(state): State<AppState>,
    User(p, _): User,
    Path(id): Path<String>,
    Json(body): Json<FromReport>,
) -> Result<(StatusCode, axum::Json<IncidentView>), ApiError> {
    let inc = state
        .app
        .incident_from_report(&p, uid(&id)?, body.claims, &body.marking)
        .await?;
    let viewer = Viewer::User(Arc::clone(&p));
    let view = state
        .app
        .views(&viewer, vec![inc], true)
        .await?
        .pop()
        .ok_or_else(ApiError::incident_not_found)?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// What an incident's confirmed reports (those the caller may see) make of
/// it: independent sources, credibility and its rule, and every version of
/// each attribute with the reports behind it.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/reports",
    tag = "reports",
    params(("id" = String, Path, description = "Incident id (UUID)")),
    responses(
        (status = 200, description = "Corroboration and versions", body = IncidentReports),
        (status = 404, description = "No such incident (or not visible to the caller)", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn incident_reports(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<axum::Json<IncidentReports>, ApiError> {
    Ok(axum::Json(
        state
            .app
            .incident_reports(&caller.viewer, uid(&id)?, &audit_path(&uri))
            .await?,
    ))
}

/// Open a kidnap case from a report of the caller's organisation, on an
/// incident or on its own (analysts, admins).
#[utoipa::path(
    post,
    path = "/api/v1/cases",
    tag = "cases",
    request_body = OpenCase,
    responses(
        (status = 201, description = "Opened", body = CaseView),
        (status = 403, description = "Not the report's organisation, or the role may not", body = ApiError),
        (status = 404, description = "No such report or incident (or not visible)", body = ApiError),
        (status = 409, description = "The incident already has a case", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn open_case(
    State(state): State<AppState>,
    User(p, _): User,
    Json(body): Json<OpenCase>,
) -> Result<(StatusCode, axum::Json<CaseView>), ApiError> {
    let case = state.app.open_case(&p, body).await?;
    Ok((StatusCode::CREATED, axum::Json(case)))
}

/// Kidnap cases.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    pub items: Vec<CaseView>,
}

/// Kidnap cases the caller may see, most recent abduction first, filtered by
/// status, hostages' nationality, country, area and period.
#[utoipa::path(
    get,
    path = "/api/v1/cases",
    tag = "cases",
    params(CaseQuery),
    responses(
        (status = 200, description = "Cases", body = CaseList),
        (status = 400, description = "A parameter is invalid", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn list_cases(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Query(q): Query<CaseQuery>,
) -> Result<axum::Json<CaseList>, ApiError> {
    let items = state
        .app
        .cases(&caller.viewer, &q, &audit_path(&uri))
        .await?;
    Ok(axum::Json(CaseList { items }))
}

/// One kidnap case: hostages, place, perpetrator, status, days held, and
/// each step with the report behind it.
#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}",
    tag = "cases",
    params(("id" = String, Path, description = "Case id (UUID)")),
    responses(
        (status = 200, description = "The case", body = CaseView),
        (status = 404, description = "No such case (or not visible to the caller)", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn get_case(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<axum::Json<CaseView>, ApiError> {
    Ok(axum::Json(
        state
            .app
            .case(&caller.viewer, uid(&id)?, &audit_path(&uri))
            .await?,
    ))
}

/// Add a step from a later report (analysts and admins of the case's
/// organisation); kind and date default to what the report says.
#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/steps",
    tag = "cases",
    params(("id" = String, Path, description = "Case id (UUID)")),
    request_body = NewStep,
    responses(
        (status = 201, description = "Added; the case as it now stands", body = CaseView),
        (status = 400, description = "No step kind, or a date before the abduction", body = ApiError),
        (status = 403, description = "Not the case's organisation, or the role may not", body = ApiError),
        (status = 404, description = "No such case or report (or not visible)", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn add_step(
    State(state): State<AppState>,
    User(p, _): User,
    Path(id): Path<String>,
    Json(body): Json<NewStep>,
) -> Result<(StatusCode, axum::Json<CaseView>), ApiError> {
    let case = state.app.add_case_step(&p, uid(&id)?, body).await?;
    Ok((StatusCode::CREATED, axum::Json(case)))
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
