//! Organisations, users, API tokens and sharing groups.

use super::Json;
use crate::AppState;
use crate::auth::User;
use crate::error::ApiError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sahelwatch_app::{GroupInfo, NewToken, NewUserInput, OrgInfo, UserUpdate};
use sahelwatch_core::accounts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgs, create_org))
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(add_member, remove_member))
}

fn id(s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::not_found())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameInput {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgList {
    pub items: Vec<OrgInfo>,
}

/// Every organisation of the deployment.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "accounts",
    responses((status = 200, body = OrgList)), security(("bearer" = []), ("session" = [])))]
async fn list_orgs(
    State(state): State<AppState>,
    User(p, _): User,
) -> Result<axum::Json<OrgList>, ApiError> {
    Ok(axum::Json(OrgList {
        items: state.app.list_orgs(&p).await?,
    }))
}

/// Create an organisation (deployment administrators).
#[utoipa::path(post, path = "/api/v1/organisations", tag = "accounts", request_body = NameInput,
    responses((status = 201, body = OrgInfo), (status = 403, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = []), ("session" = [])))]
async fn create_org(
    State(state): State<AppState>,
    User(p, _): User,
    Json(body): Json<NameInput>,
) -> Result<(StatusCode, axum::Json<OrgInfo>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(state.app.create_org(&p, &body.name).await?),
    ))
}

/// A user as listed (never with secrets).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserInfo {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    #[schema(value_type = String)]
    pub role: sahelwatch_core::Role,
    pub superadmin: bool,
    pub disabled: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<accounts::User> for UserInfo {
    fn from(u: accounts::User) -> UserInfo {
        UserInfo {
            id: u.uid,
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            superadmin: u.superadmin,
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserInfo>,
}

/// Users of the caller's organisation (organisation admins).
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    responses((status = 200, body = UserList), (status = 403, body = ApiError)), security(("bearer" = []), ("session" = [])))]
async fn list_users(
    State(state): State<AppState>,
    User(p, _): User,
) -> Result<axum::Json<UserList>, ApiError> {
    Ok(axum::Json(UserList {
        items: state
            .app
            .list_users(&p)
            .await?
            .into_iter()
            .map(UserInfo::from)
            .collect(),
    }))
}

/// Create a user in the caller's organisation (organisation admins).
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = NewUserInput,
    responses((status = 201, body = UserInfo), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = []), ("session" = [])))]
async fn create_user(
    State(state): State<AppState>,
    User(p, _): User,
    Json(body): Json<NewUserInput>,
) -> Result<(StatusCode, axum::Json<UserInfo>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(state.app.create_user(&p, body).await?.into()),
    ))
}

/// Change a user's role, name or disabled flag (organisation admins).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "accounts", request_body = UserUpdate,
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserInfo), (status = 404, body = ApiError)), security(("bearer" = []), ("session" = [])))]
async fn update_user(
    State(state): State<AppState>,
    User(p, _): User,
    Path(uid): Path<String>,
    Json(body): Json<UserUpdate>,
) -> Result<axum::Json<UserInfo>, ApiError> {
    Ok(axum::Json(
        state.app.update_user(&p, id(&uid)?, body).await?.into(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<accounts::ApiToken>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    /// 1 to 366 days (default 90).
    #[schema(minimum = 1, maximum = 366)]
    pub expires_in_days: Option<i64>,
}

/// The caller's API tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts",
    responses((status = 200, body = TokenList)), security(("bearer" = []), ("session" = [])))]
async fn list_tokens(
    State(state): State<AppState>,
    User(p, _): User,
) -> Result<axum::Json<TokenList>, ApiError> {
    Ok(axum::Json(TokenList {
        items: state.app.list_own_tokens(&p).await?,
    }))
}

/// Create an API token for the caller. The secret is in this response only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = TokenRequest,
    responses((status = 201, body = NewToken), (status = 400, body = ApiError)), security(("bearer" = []), ("session" = [])))]
async fn create_token(
    State(state): State<AppState>,
    User(p, _): User,
    Json(body): Json<TokenRequest>,
) -> Result<(StatusCode, axum::Json<NewToken>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(
            state
                .app
                .create_own_token(&p, &body.name, body.expires_in_days)
                .await?,
        ),
    ))
}

/// Revoke a token: one's own, or (admins) one of a user of the organisation.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 204), (status = 404, body = ApiError)), security(("bearer" = []), ("session" = [])))]
async fn revoke_token(
    State(state): State<AppState>,
    User(p, _): User,
    Path(uid): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.revoke_token(&p, id(&uid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<GroupInfo>,
}

/// Sharing groups the caller's organisation belongs to.
#[utoipa::path(get, path = "/api/v1/sharing-groups", tag = "accounts",
    responses((status = 200, body = GroupList)), security(("bearer" = []), ("session" = [])))]
async fn list_groups(
    State(state): State<AppState>,
    User(p, _): User,
) -> Result<axum::Json<GroupList>, ApiError> {
    Ok(axum::Json(GroupList {
        items: state.app.list_groups(&p).await?,
    }))
}

/// Create a sharing group owned by the caller's organisation (organisation admins).
#[utoipa::path(post, path = "/api/v1/sharing-groups", tag = "accounts", request_body = NameInput,
    responses((status = 201, body = GroupInfo), (status = 403, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = []), ("session" = [])))]
async fn create_group(
    State(state): State<AppState>,
    User(p, _): User,
    Json(body): Json<NameInput>,
) -> Result<(StatusCode, axum::Json<GroupInfo>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(state.app.create_group(&p, &body.name).await?),
    ))
}

/// Add an organisation to a group (admins of the group's owner organisation).
#[utoipa::path(put, path = "/api/v1/sharing-groups/{id}/members/{org}", tag = "accounts",
    params(("id" = String, Path, description = "Group id"), ("org" = String, Path, description = "Organisation id")),
    responses((status = 200, body = GroupInfo), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = []), ("session" = [])))]
async fn add_member(
    State(state): State<AppState>,
    User(p, _): User,
    Path((group, org)): Path<(String, String)>,
) -> Result<axum::Json<GroupInfo>, ApiError> {
    Ok(axum::Json(
        state
            .app
            .set_group_member(&p, id(&group)?, id(&org)?, true)
            .await?,
    ))
}

/// Remove an organisation from a group (admins of the group's owner organisation).
#[utoipa::path(delete, path = "/api/v1/sharing-groups/{id}/members/{org}", tag = "accounts",
    params(("id" = String, Path, description = "Group id"), ("org" = String, Path, description = "Organisation id")),
    responses((status = 200, body = GroupInfo), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = []), ("session" = [])))]
async fn remove_member(
    State(state): State<AppState>,
    User(p, _): User,
    Path((group, org)): Path<(String, String)>,
) -> Result<axum::Json<GroupInfo>, ApiError> {
    Ok(axum::Json(
        state
            .app
            .set_group_member(&p, id(&group)?, id(&org)?, false)
            .await?,
    ))
}
