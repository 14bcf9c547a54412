//! `/api/v1/health`.

use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// Service health. Deliberately carries no counts: counts of stored items
/// would tell an anonymous caller how much it cannot see.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
}

/// Is the service up and its database reachable?
#[utoipa::path(
    get,
    path = "/api/v1/health",
    tag = "system",
    responses(
        (status = 200, description = "Up", body = Health),
        (status = 503, description = "The database is unreachable", body = ApiError),
    )
)]
async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state
        .app
        .store()
        .incident_seq()
        .await
        .map_err(sahelwatch_app::AppError::from)?;
    let backend = match state.app.store().backend() {
        sahelwatch_store::Backend::Sqlite => "sqlite",
        sahelwatch_store::Backend::Postgres => "postgres",
    };
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        backend: backend.into(),
    }))
}
