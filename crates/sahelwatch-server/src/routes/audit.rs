//! `/api/v1/audit`: an organisation's own audit entries (organisation admins).

use super::Query;
use crate::AppState;
use crate::auth::User;
use crate::error::ApiError;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Entries after this id (for paging; default 0).
    pub after: Option<i64>,
    /// At most this many (1..1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<sahelwatch_core::audit::AuditRecord>,
}

/// Reads of non-CLEAR material by the caller's organisation, oldest first,
/// with their place in the hash chain.
#[utoipa::path(get, path = "/api/v1/audit", tag = "accounts", params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 403, body = ApiError)), security(("bearer" = []), ("session" = [])))]
async fn list_audit(
    State(state): State<AppState>,
    User(p, _): User,
    Query(q): Query<AuditParams>,
) -> Result<axum::Json<AuditPage>, ApiError> {
    let items = state
        .app
        .audit_entries(&p, q.after.unwrap_or(0), q.limit.unwrap_or(100))
        .await?;
    Ok(axum::Json(AuditPage { items }))
}
