//! `/api/v1/roads` (the imported road networks), `/api/v1/routes` (route
//! planning: fastest, least exposed, balanced, alternatives and the risk
//! profile, from the incidents the caller may see) and
//! `/api/v1/routes/saved` (an organisation's saved routes and their
//! corridor briefs).

use super::{Json, Query, audit_path};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Code};
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use chrono::{DateTime, Utc};
use sahelwatch_app::corridor::{CorridorBrief, RawBriefQuery, RawSaveRoute, SavedRouteView};
use sahelwatch_app::roads::{RawRouteQuery, RouteAnswer};
use sahelwatch_core::{Principal, Viewer};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(networks))
        .routes(routes!(plan))
        .routes(routes!(save, saved))
        .routes(routes!(delete_saved))
        .routes(routes!(brief))
}

/// The signed-in user (saved routes belong to their organisation).
fn member(caller: &Caller) -> Result<&Principal, ApiError> {
    match &caller.viewer {
        Viewer::User(p) => Ok(p),
        _ => Err(ApiError::authentication_required()),
    }
}

fn writer(caller: &Caller) -> Result<&Principal, ApiError> {
    let p = member(caller)?;
    if p.role.can_write() {
        Ok(p)
    } else {
        Err(ApiError::new(
            Code::Forbidden,
            "only analysts and admins may save or delete routes",
        ))
    }
}

fn route_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::not_found())
}

/// An imported road network.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkView {
    pub id: i64,
    pub name: String,
    pub source: String,
    pub created_at: DateTime<Utc>,
    /// What the import kept: nodes, segments, km by class, junctions,
    /// dangling ends, connected parts.
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
}

/// Road networks, newest first (the newest is the default for routes).
#[utoipa::path(
    get,
    path = "/api/v1/roads",
    tag = "routes",
    responses(
        (status = 200, description = "The networks", body = Vec<NetworkView>),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn networks(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<axum::Json<Vec<NetworkView>>, ApiError> {
    let all = state.app.road_networks().await?;
    Ok(axum::Json(
        all.into_iter()
            .map(|n| NetworkView {
                id: n.id,
                name: n.name,
                source: n.source,
                created_at: n.created_at,
                report: n.report,
            })
            .collect(),
    ))
}

/// Plan a route.
///
/// Between two places (gazetteer names such as `Dori,BF`, or `lat,lon`):
/// the route of `mode` (`balanced` with `tradeoff` 0-1, `fastest`, or
/// `safest`: least exposure, exposure = sum of road risk x hours driven),
/// then up to five alternatives forming a Pareto set of time against
/// exposure, each with its geometry and its risk profile (stretches, their
/// times from `depart`, and the incidents behind them). Risk comes only
/// from the incidents the caller may see, as of the departure day.
#[utoipa::path(
    post,
    path = "/api/v1/routes",
    tag = "routes",
    request_body = RawRouteQuery,
    responses(
        (status = 200, description = "The routes", body = RouteAnswer),
        (status = 400, description = "A field is invalid (named), or the end cannot be reached", body = ApiError),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn plan(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Json(raw): Json<RawRouteQuery>,
) -> Result<axum::Json<RouteAnswer>, ApiError> {
    Ok(axum::Json(
        state
            .app
            .plan_route(&caller.viewer, &raw, Utc::now(), &audit_path(&uri))
            .await?,
    ))
}

/// Save a route for the caller's organisation.
///
/// Plans `route` as `POST /api/v1/routes` does and keeps the route
/// `choose` names (0, the default: the requested one; 1 and up: the
/// alternatives in answer order), its legs tied to the current version of
/// the road network. A name is unique within the organisation: saving
/// under a taken name replaces that route. Analysts and admins only.
#[utoipa::path(
    post,
    path = "/api/v1/routes/saved",
    tag = "routes",
    request_body = RawSaveRoute,
    responses(
        (status = 201, description = "Saved", body = SavedRouteView),
        (status = 400, description = "A field is invalid (named)", body = ApiError),
        (status = 401, description = "Authentication required", body = ApiError),
        (status = 403, description = "The role may not save routes", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn save(
    State(state): State<AppState>,
    caller: Caller,
    Json(raw): Json<RawSaveRoute>,
) -> Result<(StatusCode, axum::Json<SavedRouteView>), ApiError> {
    let p = writer(&caller)?;
    let saved = state
        .app
        .save_route(&caller.viewer, p.org, Some(p.user), &raw, Utc::now())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(saved)))
}

/// The caller's organisation's saved routes, by name.
#[utoipa::path(
    get,
    path = "/api/v1/routes/saved",
    tag = "routes",
    responses(
        (status = 200, description = "The saved routes", body = Vec<SavedRouteView>),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn saved(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<SavedRouteView>>, ApiError> {
    let p = member(&caller)?;
    Ok(axum::Json(state.app.saved_routes(p.org).await?))
}

/// Delete one of the organisation's saved routes. Analysts and admins only.
#[utoipa::path(
    delete,
    path = "/api/v1/routes/saved/{id}",
    tag = "routes",
    params(("id" = i64, Path, description = "Saved route id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "The role may not delete routes", body = ApiError),
        (status = 404, description = "No such route in the caller's organisation", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn delete_saved(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let p = writer(&caller)?;
    state.app.delete_saved_route(p.org, route_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The corridor brief of a saved route.
///
/// The route with today's risk (its profile and the incidents behind each
/// dangerous stretch), the caller's visible incidents of the last `days`
/// within `buffer_km` of its line, the trend (against the `days` before,
/// monthly over a year, per section of the route), and the routes planned
/// now for the same request compared with it. 409 when the road network
/// was imported again since the route was saved.
#[utoipa::path(
    get,
    path = "/api/v1/routes/saved/{id}/brief",
    tag = "routes",
    params(("id" = i64, Path, description = "Saved route id"), RawBriefQuery),
    responses(
        (status = 200, description = "The brief", body = CorridorBrief),
        (status = 400, description = "A parameter is invalid (named)", body = ApiError),
        (status = 404, description = "No such route in the caller's organisation", body = ApiError),
        (status = 409, description = "The road network changed since the route was saved", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn brief(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    Query(raw): Query<RawBriefQuery>,
) -> Result<axum::Json<CorridorBrief>, ApiError> {
    let p = member(&caller)?;
    Ok(axum::Json(
        state
            .app
            .corridor_brief(
                &caller.viewer,
                p.org,
                route_id(&id)?,
                &raw,
                Utc::now(),
                &audit_path(&uri),
            )
            .await?,
    ))
}
