//! Who is calling: resolved once per request from, in order,
//! `Authorization: Bearer <API token>`, `Authorization: Basic` with an API
//! token as the password (for TAXII clients), or the browser session cookie.
//!
//! A credential that is present but wrong is refused (401); it never falls
//! back to anonymous access. Without any credential, the caller is anonymous
//! only if the deployment enables its public API; otherwise 401.
//!
//! Browser sessions must echo their CSRF token in `X-CSRF-Token` on every
//! request that changes something (any method but GET, HEAD, OPTIONS).

use crate::AppState;
use crate::error::{ApiError, Code};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use base64::Engine;
use sahelwatch_core::accounts::Session;
use sahelwatch_core::{Principal, Viewer};
use std::sync::Arc;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "sw_session";
/// Header that carries the CSRF token on state-changing browser requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub viewer: Viewer,
    /// Set when the caller signed in with a browser session.
    pub session: Option<Session>,
    /// What the caller presented, to check again during a long response.
    pub credential: Credential,
}

/// A credential as presented.
#[derive(Clone, Default)]
pub enum Credential {
    #[default]
    None,
    Token(String),
    Session(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credential::None => "None",
            Credential::Token(_) => "Token(..)",
            Credential::Session(_) => "Session(..)",
        })
    }
}

impl Caller {
    /// Is the credential still good (not expired, revoked or disabled), and
    /// who does it stand for now? Long-lived responses (the live stream)
    /// call this before sending more.
    pub async fn recheck(&self, state: &AppState) -> Result<Option<Viewer>, ApiError> {
        let now = chrono::Utc::now();
        Ok(match &self.credential {
            Credential::None => state.public_api.then_some(Viewer::Anonymous),
            Credential::Token(t) => state
                .app
                .authenticate_token(t, now)
                .await?
                .map(Viewer::User),
            Credential::Session(s) => state
                .app
                .authenticate_session(s, now)
                .await?
                .map(|(p, _)| Viewer::User(p)),
        })
    }
}

/// An authenticated caller (anonymous callers get 401).
#[derive(Debug, Clone)]
pub struct User(pub Arc<Principal>, pub Caller);

fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| {
            h.split(';').find_map(|kv| {
                let (k, v) = kv.trim().split_once('=')?;
                (k == name).then(|| v.to_string())
            })
        })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let now = chrono::Utc::now();
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let auth = auth.to_str().map_err(|_| invalid())?;
            let token = if let Some(t) = auth.strip_prefix("Bearer ") {
                t.trim().to_string()
            } else if let Some(b) = auth.strip_prefix("Basic ") {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .map_err(|_| invalid())?;
                let raw = String::from_utf8(raw).map_err(|_| invalid())?;
                raw.split_once(':')
                    .map(|(_, p)| p.to_string())
                    .ok_or_else(invalid)?
            } else {
                return Err(invalid());
            };
            return match state.app.authenticate_token(&token, now).await? {
                Some(p) => Ok(Caller {
                    viewer: Viewer::User(p),
                    session: None,
                    credential: Credential::Token(token),
                }),
                None => Err(invalid()),
            };
        }
        if let Some(secret) = cookie(parts, SESSION_COOKIE) {
            let Some((p, session)) = state.app.authenticate_session(&secret, now).await? else {
                return Err(ApiError::new(
                    Code::AuthenticationRequired,
                    "the session has expired; sign in again",
                ));
            };
            if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
                let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
                if sent != Some(session.csrf_token.as_str()) {
                    return Err(ApiError::new(
                        Code::CsrfFailed,
                        "missing or wrong X-CSRF-Token header",
                    ));
                }
            }
            return Ok(Caller {
                viewer: Viewer::User(p),
                session: Some(session),
                credential: Credential::Session(secret),
            });
        }
        if state.public_api {
            Ok(Caller {
                viewer: Viewer::Anonymous,
                session: None,
                credential: Credential::None,
            })
        } else {
            Err(ApiError::authentication_required())
        }
    }
}

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<User, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        match &caller.viewer {
            Viewer::User(p) => Ok(User(Arc::clone(p), caller.clone())),
            _ => Err(ApiError::authentication_required()),
        }
    }
}

fn invalid() -> ApiError {
    ApiError::new(
        Code::InvalidCredentials,
        "the credentials are not valid (wrong, expired or revoked)",
    )
}
