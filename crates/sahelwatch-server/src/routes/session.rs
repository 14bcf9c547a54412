//! `/api/v1/auth` and `/api/v1/me`: signing in and out, and who am I.

use super::Json;
use crate::AppState;
use crate::auth::{Caller, SESSION_COOKIE, User};
use crate::error::{ApiError, Code};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sahelwatch_app::OrgInfo;
use sahelwatch_core::Role;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// The signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: uuid::Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub superadmin: bool,
    pub organisation: OrgInfo,
    /// With a browser session: the token to send as `X-CSRF-Token` on every
    /// request that changes something.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

/// The peer address, when the server runs with connection info (not in
/// router-level tests).
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Peer, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

fn client_addr(headers: &HeaderMap, peer: Option<SocketAddr>, trust_forwarded_for: bool) -> String {
    // Behind a reverse proxy the peer is the proxy, which must then set X-Forwarded-For.
    let forwarded = trust_forwarded_for
        .then(|| headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()))
        .flatten()
        .and_then(|v| v.split(',').next())
        .map(|s| s.trim().to_string());
    forwarded
        .or_else(|| peer.map(|p| p.ip().to_string()))
        .unwrap_or_else(|| "unknown".into())
}

/// Sign in with a username and password: sets the session cookie and returns
/// the CSRF token. Five failures within 15 minutes (per username or per
/// client address) block further attempts for the rest of the window.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = Me),
        (status = 401, description = "Wrong username or password", body = ApiError),
        (status = 429, description = "Too many failed attempts", body = ApiError),
    )
)]
async fn login(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let client = client_addr(&headers, peer, state.trust_forwarded_for);
    let r = state
        .app
        .login(
            &body.username,
            &body.password,
            &client,
            std::time::Instant::now(),
        )
        .await
        .map_err(|e| match e {
            sahelwatch_app::AppError::Unauthorized => {
                ApiError::new(Code::InvalidCredentials, "wrong username or password")
            }
            other => other.into(),
        })?;
    let principal = state.app.principal_of(&r.user).await?;
    let (user, organisation) = state.app.me(&principal).await?;
    let me = Me {
        id: user.uid,
        username: user.username,
        display_name: user.display_name,
        role: user.role,
        superadmin: user.superadmin,
        organisation,
        csrf_token: Some(r.csrf_token),
    };
    let max_age = (r.expires_at - chrono::Utc::now()).num_seconds().max(0);
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        r.session_secret,
        if state.secure_cookies { "; Secure" } else { "" }
    );
    let mut resp = axum::Json(me).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie)
            .map_err(|_| ApiError::new(Code::Internal, "internal error"))?,
    );
    Ok(resp)
}

/// End the browser session (requires the CSRF token).
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    responses((status = 204, description = "Signed out; the cookie is cleared (also without a session: nothing to end)")),
    security((), ("session" = []))
)]
async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    if let Some(session) = &caller.session {
        state.app.logout(session).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("sw_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(resp)
}

/// Who the caller is.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "auth",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Authentication required", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn me(
    State(state): State<AppState>,
    User(p, caller): User,
) -> Result<axum::Json<Me>, ApiError> {
    let (user, organisation) = state.app.me(&p).await?;
    Ok(axum::Json(Me {
        id: user.uid,
        username: user.username,
        display_name: user.display_name,
        role: user.role,
        superadmin: user.superadmin,
        organisation,
        csrf_token: caller.session.map(|s| s.csrf_token),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Change one's own password (ends one's browser sessions).
#[utoipa::path(
    post,
    path = "/api/v1/me/password",
    tag = "auth",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Wrong current password, or the new one is too short", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn change_password(
    State(state): State<AppState>,
    User(p, _): User,
    Json(body): Json<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .change_password(&p, &body.current_password, &body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
