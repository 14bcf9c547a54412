//! `/api/v1/roads` (the imported road networks) and `/api/v1/routes`
//! (route planning: fastest, least exposed, balanced, alternatives and the
//! risk profile, from the incidents the caller may see).

use super::{Json, audit_path};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::extract::State;
use axum::http::Uri;
use chrono::{DateTime, Utc};
use sahelwatch_app::roads::{RawRouteQuery, RouteAnswer};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(networks))
        .routes(routes!(plan))
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
