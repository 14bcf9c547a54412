//! `/api/v1/analytics`: trends, period-over-period change, hotspots, the
//! approach toward a place, and area briefs; charts as SVG or PNG. Every
//! number comes from the incidents the caller may see.

use super::{Query, audit_path};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::extract::State;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use sahelwatch_analytics::change::Change;
use sahelwatch_analytics::chart::{self, ChartKind};
use sahelwatch_app::analytics::brief::Brief;
use sahelwatch_app::analytics::{AnalyticsQuery, ApproachView, Hotspots, RawAnalyticsQuery, Trend};
use sahelwatch_app::{AppError, ParamError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(trend))
        .routes(routes!(change))
        .routes(routes!(hotspots))
        .routes(routes!(approach))
        .routes(routes!(brief))
}

/// Validate the query and the output format against those `allowed`.
async fn resolve(
    state: &AppState,
    raw: &RawAnalyticsQuery,
    allowed: &[&str],
) -> Result<(AnalyticsQuery, String), ApiError> {
    let q = state.app.analytics_query(raw).await;
    let format = raw
        .format
        .as_deref()
        .unwrap_or("json")
        .trim()
        .to_ascii_lowercase();
    let mut errs = Vec::new();
    if !allowed.contains(&format.as_str()) {
        errs.push(ParamError::new(
            "format",
            &format,
            format!("must be one of {}", allowed.join(", ")),
        ));
    }
    match q {
        Ok(q) if errs.is_empty() => Ok((q, format)),
        Ok(_) => Err(AppError::BadRequest(errs).into()),
        Err(AppError::BadRequest(mut e)) => {
            e.extend(errs);
            Err(AppError::BadRequest(e).into())
        }
        Err(e) => Err(e.into()),
    }
}

fn typed(body: impl Into<axum::body::Body>, content_type: &'static str) -> Response {
    let mut r = Response::new(body.into());
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Counts and fatalities by period.
///
/// Buckets are `period` long (week = ISO week, month, quarter, half, year)
/// over `from..to`, or over the incidents found when those are absent;
/// empty buckets are included. `format=csv` gives the table, `svg` or `png`
/// a chart (`chart=line` or `bar`) with axes, units, source and period.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/trend",
    tag = "analytics",
    params(RawAnalyticsQuery),
    responses(
        (status = 200, description = "The trend", body = Trend),
        (status = 400, description = "A parameter is invalid", body = ApiError),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn trend(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Query(raw): Query<RawAnalyticsQuery>,
) -> Result<Response, ApiError> {
    let (q, format) = resolve(&state, &raw, &["json", "csv", "svg", "png"]).await?;
    let kind = match raw.chart.as_deref().map(str::trim) {
        None | Some("line") => ChartKind::Line,
        Some("bar") => ChartKind::Bar,
        Some(other) => {
            return Err(AppError::bad("chart", other, "must be line or bar").into());
        }
    };
    let t = state
        .app
        .trend(&caller.viewer, &q, &audit_path(&uri))
        .await?;
    Ok(match format.as_str() {
        "csv" => typed(t.csv(), "text/csv; charset=utf-8"),
        "svg" => typed(chart::svg(&t.chart(kind)), "image/svg+xml"),
        "png" => typed(
            chart::png(&t.chart(kind)).map_err(|e| AppError::Internal(e.to_string()))?,
            "image/png",
        ),
        _ => axum::Json(t).into_response(),
    })
}

/// Period-over-period change.
///
/// `compare` is `2024-H1 vs 2023-H1` (any two of `2024`, `2024-H1`,
/// `2024-Q3`, `2024-03`, `2024-W05`, `2024-01-01..2024-03-15`), `last 4
/// weeks` (against the 4 weeks before) or `this month vs last year` (to
/// date, against the same days a year earlier); relative forms end on
/// `as_of` (default today). The answer has both counts, the change in percent
/// (absent when the earlier span has no incident), ACLED's early-warning
/// band and a sentence to quote.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/change",
    tag = "analytics",
    params(RawAnalyticsQuery),
    responses(
        (status = 200, description = "The change", body = Change),
        (status = 400, description = "A parameter is invalid", body = ApiError),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn change(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Query(raw): Query<RawAnalyticsQuery>,
) -> Result<axum::Json<Change>, ApiError> {
    let (q, _) = resolve(&state, &raw, &["json"]).await?;
    Ok(axum::Json(
        state
            .app
            .change(&caller.viewer, &q, today(), &audit_path(&uri))
            .await?,
    ))
}

/// Hotspots: Getis-Ord Gi* on an H3 grid, with emerging-hotspot classes.
///
/// The grid is every H3 cell of `resolution` (default 6) whose centre lies
/// in the area (region, country, admin1, bbox or polygon; without one, the
/// box around the incidents found). Gi* uses queen contiguity (the ring of 6
/// neighbours plus the cell itself, binary weights); classes come from
/// Benjamini-Hochberg adjusted p-values (hot99/95/90, cold99/95/90). Emerging
/// classes (new, intensifying, persistent, diminishing, historical,
/// sporadic) come from a Mann-Kendall test of each cell's Gi* over the time
/// slices of `period`. A GeoJSON FeatureCollection of the cells with
/// incidents or a significant class.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/hotspots",
    tag = "analytics",
    params(RawAnalyticsQuery),
    responses(
        (status = 200, description = "Hotspot cells", body = Hotspots, content_type = "application/geo+json"),
        (status = 400, description = "A parameter is invalid", body = ApiError),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn hotspots(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Query(raw): Query<RawAnalyticsQuery>,
) -> Result<Response, ApiError> {
    let (q, _) = resolve(&state, &raw, &["json", "geojson"]).await?;
    let h = state
        .app
        .hotspots(&caller.viewer, &q, &audit_path(&uri))
        .await?;
    let body = serde_json::to_vec(&h).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(typed(body, "application/geo+json"))
}

/// Approach toward a place.
///
/// For each `place` (a gazetteer name such as `Bamako` or `Dori,BF`, or
/// `lat,lon`; several separated by `;`) and the filters (e.g. `actor=JNIM`):
/// per month, the distance of the nearest and the median incident, and the
/// trend of each in km per month (Theil-Sen slope, 95% confidence interval,
/// Mann-Kendall p-value). Months without incidents are gaps.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/approach",
    tag = "analytics",
    params(RawAnalyticsQuery),
    responses(
        (status = 200, description = "One approach per place", body = Vec<ApproachView>),
        (status = 400, description = "A parameter is invalid", body = ApiError),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn approach(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Query(raw): Query<RawAnalyticsQuery>,
) -> Result<axum::Json<Vec<ApproachView>>, ApiError> {
    let (q, _) = resolve(&state, &raw, &["json"]).await?;
    Ok(axum::Json(
        state
            .app
            .approach(&caller.viewer, &q, &audit_path(&uri))
            .await?,
    ))
}

/// Area brief.
///
/// For the area and `from..to` (default: the year up to the latest incident
/// seen): counts and change against the span of equal length before, with
/// band and statement; breakdown by event type, sub-event type and actor;
/// top hotspots; the most lethal incidents; kidnappings; the approach toward
/// each `place`. `format=markdown` gives a Markdown document with the charts
/// inlined as SVG data URIs.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/brief",
    tag = "analytics",
    params(RawAnalyticsQuery),
    responses(
        (status = 200, description = "The brief", body = Brief),
        (status = 400, description = "A parameter is invalid", body = ApiError),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn brief(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Query(raw): Query<RawAnalyticsQuery>,
) -> Result<Response, ApiError> {
    let (q, format) = resolve(&state, &raw, &["json", "markdown"]).await?;
    let b = state
        .app
        .brief(&caller.viewer, &q, today(), &audit_path(&uri))
        .await?;
    if format == "markdown" {
        return Ok(typed(b.markdown_inline(), "text/markdown; charset=utf-8"));
    }
    Ok(axum::Json(b).into_response())
}
