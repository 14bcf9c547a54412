//! `/api/v1/incidents`: search, one incident, counts, export; creating an
//! incident and changing its marking.

use super::{Json, Query, audit_path, split_query};
use crate::AppState;
use crate::auth::{Caller, User};
use crate::error::{ApiError, Code};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use sahelwatch_app::{
    AggregateView, EXPORT_CHUNK, ExportFormat, ExportState, IncidentPage, IncidentView,
    MarkingInput, RawIncidentQuery, geojson_feature,
};
use sahelwatch_core::{IncidentData, Viewer};
use sahelwatch_query::GroupKey;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_incidents, create_incident))
        .routes(routes!(count_incidents))
        .routes(routes!(export_incidents))
        .routes(routes!(get_incident, delete_incident))
        .routes(routes!(set_marking))
}

fn wants_geojson(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/geo+json"))
}

async fn resolve(
    state: &AppState,
    raw: &RawIncidentQuery,
) -> Result<sahelwatch_app::IncidentQuery, ApiError> {
    let gazetteer = state.app.gazetteer().await?;
    raw.resolve(&gazetteer).map_err(ApiError::invalid_params)
}

fn parse_rest(rest: &str) -> Result<RawIncidentQuery, ApiError> {
    serde_urlencoded::from_str(rest)
        .map_err(|e| ApiError::new(Code::InvalidQueryParameter, e.to_string()))
}

fn incident_id(id: &str) -> Result<uuid::Uuid, ApiError> {
    // A malformed id is "not found" too: no hint about what ids look like.
    uuid::Uuid::parse_str(id).map_err(|_| ApiError::incident_not_found())
}

/// Search incidents.
///
/// Filters combine with AND; lists within a parameter combine with OR.
/// Results are paged with an opaque cursor. With `format=geojson` (or
/// `Accept: application/geo+json`) the page is a GeoJSON FeatureCollection
/// with `next_cursor` as a foreign member. Only incidents the caller may see
/// are listed, counted or paged over.
#[utoipa::path(
    get,
    path = "/api/v1/incidents",
    tag = "incidents",
    params(RawIncidentQuery),
    responses(
        (status = 200, description = "A page of incidents (JSON), or with format=geojson a FeatureCollection",
            content(
                (IncidentPage = "application/json"),
                (Object = "application/geo+json"),
            )),
        (status = 400, description = "A parameter is invalid", body = ApiError),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn list_incidents(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    headers: HeaderMap,
    Query(raw): Query<RawIncidentQuery>,
) -> Result<Response, ApiError> {
    let q = resolve(&state, &raw).await?;
    let page = state
        .app
        .search(&caller.viewer, &q, &audit_path(&uri))
        .await?;
    if q.geojson || (raw.format.is_none() && wants_geojson(&headers)) {
        let features: Vec<geojson::Feature> = page.items.iter().map(geojson_feature).collect();
        let mut fc = serde_json::json!({ "type": "FeatureCollection", "features": features });
        if let Some(c) = page.next_cursor {
            fc["next_cursor"] = c.into();
        }
        if let Some(t) = page.total {
            fc["total"] = t.into();
        }
        let mut resp = axum::Json(fc).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/geo+json"),
        );
        return Ok(resp);
    }
    Ok(axum::Json(page).into_response())
}

/// Count incidents and sum their fatalities, optionally grouped.
///
/// Takes every filter of the search, plus `by`: up to four of `country`,
/// `admin1`, `event_type`, `sub_event_type`, `year`, `month`, `dataset`.
/// Counts cover only what the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/counts",
    tag = "incidents",
    params(
        RawIncidentQuery,
        ("by" = Option<String>, Query, description = "Comma-separated grouping keys, e.g. `country,month`"),
    ),
    responses(
        (status = 200, description = "Counts", body = AggregateView),
        (status = 400, description = "A parameter is invalid", body = ApiError),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn count_incidents(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Result<axum::Json<AggregateView>, ApiError> {
    let (picked, rest) = split_query(raw.as_deref(), &["by"])?;
    let mut by = Vec::new();
    let mut errs = Vec::new();
    for (_, v) in &picked {
        for k in v.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            match GroupKey::parse(k) {
                Ok(g) if !by.contains(&g) => by.push(g),
                Ok(_) => {}
                Err(m) => errs.push(sahelwatch_app::ParamError::new("by", k, m)),
            }
        }
    }
    if by.len() > 4 {
        let all = picked
            .iter()
            .map(|p| p.1.clone())
            .collect::<Vec<_>>()
            .join(",");
        errs.push(sahelwatch_app::ParamError::new(
            "by",
            &all,
            "at most 4 keys",
        ));
    }
    let raw = parse_rest(&rest)?;
    let q = match resolve(&state, &raw).await {
        Ok(q) if errs.is_empty() => q,
        Ok(_) => return Err(ApiError::invalid_params(errs)),
        Err(mut e) => {
            e.details.extend(errs);
            return Err(ApiError::invalid_params(e.details));
        }
    };
    Ok(axum::Json(
        state
            .app
            .aggregate(&caller.viewer, &q, &by, &audit_path(&uri))
            .await?,
    ))
}

/// Export every matching incident as ACLED-layout CSV, GeoJSON or a STIX 2.1
/// bundle, streamed.
///
/// Takes every filter of the search; `format` is `csv` (default), `geojson`,
/// `points` (GeoJSON with only id, TLP, date, event and sub-event type and
/// fatalities: what a map needs) or `stix`.
/// Paging parameters are ignored: the export holds all matches the caller may
/// see, oldest first, with locations coarsened as in every other output.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/export",
    tag = "incidents",
    params(RawIncidentQuery),
    responses(
        (status = 200, description = "The export file: CSV, GeoJSON (geojson, points) or a STIX bundle",
            content(
                (String = "text/csv"),
                (Object = "application/geo+json"),
                (Object = "application/stix+json;version=2.1"),
            )),
        (status = 400, description = "A parameter is invalid", body = ApiError),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn export_incidents(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (picked, rest) = split_query(raw.as_deref(), &["format"])?;
    let format = match picked.last() {
        None => ExportFormat::AcledCsv,
        Some((_, f)) => ExportFormat::parse(f)?,
    };
    let raw = parse_rest(&rest)?;
    let q = resolve(&state, &raw).await?;
    let viewer = caller.viewer;
    let path = audit_path(&uri);
    let ids = state.app.matching_ids(&viewer, &q).await?;
    let stream = export_stream(state.app.clone(), viewer, ids, format, path);
    let filename = format!("sahelwatch-incidents.{}", format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// The bytes of an export, produced lazily as the client reads: at most one
/// chunk of incidents is in memory at a time.
pub(crate) fn export_stream(
    app: Arc<sahelwatch_app::App>,
    viewer: Viewer,
    ids: Vec<i64>,
    format: ExportFormat,
    path: String,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> {
    struct Cursor {
        next: usize,
        state: ExportState,
    }
    enum Step {
        Prelude,
        Chunk(Cursor),
        Done,
    }
    futures_util::stream::unfold(Step::Prelude, move |step| {
        let app = app.clone();
        let viewer = viewer.clone();
        let path = path.clone();
        let next_ids = match &step {
            Step::Chunk(c) => ids.chunks(EXPORT_CHUNK).nth(c.next).map(<[i64]>::to_vec),
            _ => None,
        };
        async move {
            match step {
                Step::Prelude => Some((
                    Ok(format.prelude()),
                    Step::Chunk(Cursor {
                        next: 0,
                        state: ExportState::default(),
                    }),
                )),
                Step::Chunk(mut c) => match next_ids {
                    None => Some((Ok(format.epilogue()), Step::Done)),
                    Some(ids) => match app
                        .export_chunk(&viewer, &ids, format, &mut c.state, &path)
                        .await
                    {
                        Ok(bytes) => {
                            c.next += 1;
                            Some((Ok(bytes), Step::Chunk(c)))
                        }
                        Err(e) => {
                            // The status line is gone; cutting the body short is the only
                            // signal left, and a truncated file is detectably invalid.
                            tracing::error!(error = %e, "export failed mid-stream");
                            Some((Err(std::io::Error::other("export failed")), Step::Done))
                        }
                    },
                },
                Step::Done => None,
            }
        }
    })
}

/// One incident, with the source's original fields (unless its location is
/// coarsened for the caller).
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}",
    tag = "incidents",
    params(("id" = String, Path, description = "Incident id (UUID)")),
    responses(
        (status = 200, description = "The incident", body = IncidentView),
        (status = 404, description = "No such incident (or not visible to the caller)", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn get_incident(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    let uid = incident_id(&id)?;
    let view = state
        .app
        .incident_view(&caller.viewer, uid, &audit_path(&uri))
        .await?
        .ok_or_else(ApiError::incident_not_found)?;
    Ok(axum::Json(view))
}

/// A new incident and its marking.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    pub incident: IncidentData,
    pub marking: MarkingInput,
}

/// Record an incident, owned by the caller's organisation (analysts, admins).
#[utoipa::path(
    post,
    path = "/api/v1/incidents",
    tag = "incidents",
    request_body = NewIncident,
    responses(
        (status = 201, description = "Created", body = IncidentView),
        (status = 400, description = "The incident or marking is invalid", body = ApiError),
        (status = 403, description = "The role may not create incidents", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn create_incident(
    State(state): State<AppState>,
    User(p, _): User,
    Json(body): Json<NewIncident>,
) -> Result<(StatusCode, axum::Json<IncidentView>), ApiError> {
    let inc = state
        .app
        .create_incident(&p, body.incident, &body.marking)
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

/// Replace the marking of one of the organisation's incidents (analysts, admins).
#[utoipa::path(
    put,
    path = "/api/v1/incidents/{id}/marking",
    tag = "incidents",
    params(("id" = String, Path, description = "Incident id (UUID)")),
    request_body = MarkingInput,
    responses(
        (status = 200, description = "The new marking applied", body = IncidentView),
        (status = 403, description = "Not the owner organisation, or the role may not", body = ApiError),
        (status = 404, description = "No such incident (or not visible to the caller)", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn set_marking(
    State(state): State<AppState>,
    User(p, _): User,
    Path(id): Path<String>,
    Json(marking): Json<MarkingInput>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    let uid = incident_id(&id)?;
    let inc = state.app.update_marking(&p, uid, &marking).await?;
    let view = state
        .app
        .views(&Viewer::Local, vec![inc], true)
        .await?
        .pop()
        .ok_or_else(ApiError::incident_not_found)?;
    Ok(axum::Json(view))
}

/// Delete one of the organisation's incidents (analysts, admins).
#[utoipa::path(
    delete,
    path = "/api/v1/incidents/{id}",
    tag = "incidents",
    params(("id" = String, Path, description = "Incident id (UUID)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not the owner organisation, or the role may not", body = ApiError),
        (status = 404, description = "No such incident (or not visible to the caller)", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn delete_incident(
    State(state): State<AppState>,
    User(p, _): User,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let uid = incident_id(&id)?;
    state.app.delete_incident(&p, uid).await?;
    Ok(StatusCode::NO_CONTENT)
}
