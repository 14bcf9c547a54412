//! `/api/v1/incidents`: search, one incident, counts, export.

use super::{Query, split_query, viewer};
use crate::AppState;
use crate::error::{ApiError, Code};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sahelwatch_app::{
    AggregateView, EXPORT_CHUNK, ExportFormat, IncidentPage, IncidentView, RawIncidentQuery,
    geojson_feature,
};
use sahelwatch_query::GroupKey;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_incidents))
        .routes(routes!(count_incidents))
        .routes(routes!(export_incidents))
        .routes(routes!(get_incident))
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

/// Search incidents.
///
/// Filters combine with AND; lists within a parameter combine with OR.
/// Results are paged with an opaque cursor. With `format=geojson` (or
/// `Accept: application/geo+json`) the page is a GeoJSON FeatureCollection
/// with `next_cursor` as a foreign member.
#[utoipa::path(
    get,
    path = "/api/v1/incidents",
    tag = "incidents",
    params(RawIncidentQuery),
    responses(
        (status = 200, description = "A page of incidents", body = IncidentPage),
        (status = 400, description = "A parameter is invalid", body = ApiError),
    )
)]
async fn list_incidents(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(raw): Query<RawIncidentQuery>,
) -> Result<Response, ApiError> {
    let q = resolve(&state, &raw).await?;
    let page = state.app.search(&viewer(), &q).await?;
    if q.geojson || (raw.format.is_none() && wants_geojson(&headers)) {
        let features: Vec<geojson::Feature> = page.items.iter().map(geojson_feature).collect();
        let mut fc = serde_json::json!({ "type": "FeatureCollection", "features": features });
        if let Some(c) = page.next_cursor {
            fc["next_cursor"] = c.into();
        }
        if let Some(t) = page.total {
            fc["total"] = t.into();
        }
        let mut resp = Json(fc).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/geo+json"),
        );
        return Ok(resp);
    }
    Ok(Json(page).into_response())
}

/// Count incidents and sum their fatalities, optionally grouped.
///
/// Takes every filter of the search, plus `by`: up to four of `country`,
/// `admin1`, `event_type`, `sub_event_type`, `year`, `month`, `dataset`.
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
    )
)]
async fn count_incidents(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<AggregateView>, ApiError> {
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
        errs.push(sahelwatch_app::ParamError::new(
            "by",
            &picked
                .iter()
                .map(|p| p.1.clone())
                .collect::<Vec<_>>()
                .join(","),
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
    Ok(Json(state.app.aggregate(&viewer(), &q, &by).await?))
}

/// Export every matching incident as ACLED-layout CSV or GeoJSON, streamed.
///
/// Takes every filter of the search; `format` is `csv` (default) or `geojson`.
/// Paging parameters are ignored: the export holds all matches, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/export",
    tag = "incidents",
    params(
        RawIncidentQuery,
    ),
    responses(
        (status = 200, description = "The export file", content_type = "text/csv"),
        (status = 400, description = "A parameter is invalid", body = ApiError),
    )
)]
async fn export_incidents(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (picked, rest) = split_query(raw.as_deref(), &["format"])?;
    let format = match picked.last() {
        None => ExportFormat::AcledCsv,
        Some((_, f)) => ExportFormat::parse(f)?,
    };
    let raw = parse_rest(&rest)?;
    let q = resolve(&state, &raw).await?;
    let viewer = viewer();
    let ids = state.app.matching_ids(&viewer, &q).await?;
    let app = state.app.clone();
    // Chunks are produced lazily as the client reads: at most one in memory.
    enum Step {
        Prelude,
        Chunk(usize, u64),
        Epilogue,
        Done,
    }
    let stream = futures_util::stream::unfold(Step::Prelude, move |step| {
        let app = app.clone();
        let viewer = viewer.clone();
        let chunk = |k: usize| ids.chunks(EXPORT_CHUNK).nth(k).map(<[i64]>::to_vec);
        let next_ids = match &step {
            Step::Chunk(k, _) => chunk(*k),
            _ => None,
        };
        async move {
            match step {
                Step::Prelude => Some((Ok(format.prelude()), Step::Chunk(0, 0))),
                Step::Chunk(k, written) => match next_ids {
                    None => Some((Ok(format.epilogue()), Step::Epilogue)),
                    Some(ids) => match app.export_chunk(&viewer, &ids, format, written).await {
                        Ok((bytes, n)) => Some((Ok(bytes), Step::Chunk(k + 1, written + n))),
                        Err(e) => {
                            // The status line is gone; cutting the body short is the only
                            // signal left, and a truncated CSV/GeoJSON is detectably invalid.
                            tracing::error!(error = %e, "export failed mid-stream");
                            Some((Err(std::io::Error::other("export failed")), Step::Done))
                        }
                    },
                },
                Step::Epilogue | Step::Done => None,
            }
        }
    });
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

/// One incident, with the source's original fields.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}",
    tag = "incidents",
    params(("id" = String, Path, description = "Incident id (UUID)")),
    responses(
        (status = 200, description = "The incident", body = IncidentView),
        (status = 404, description = "No such incident (or not visible to the caller)", body = ApiError),
    )
)]
async fn get_incident(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, ApiError> {
    // A malformed id is "not found" too: no hint about what ids look like.
    let Ok(uid) = uuid::Uuid::parse_str(&id) else {
        return Err(ApiError::incident_not_found());
    };
    let inc = state
        .app
        .incident(&viewer(), uid)
        .await?
        .ok_or_else(ApiError::incident_not_found)?;
    let view = state
        .app
        .views(vec![inc], true)
        .await?
        .pop()
        .ok_or_else(ApiError::incident_not_found)?;
    Ok(Json(view))
}
