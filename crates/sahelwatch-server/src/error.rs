//! The one catalogue of API errors. Every error a client can receive has a
//! stable `code`, a `type` and an HTTP status, and is rendered as
//! `{"message", "code", "type", "details"?}`.
//!
//! Messages never carry internal details (SQL, file paths): those go to the
//! server log. A resource the caller may not see is reported exactly like one
//! that does not exist.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sahelwatch_app::{AppError, ParamError};
use serde::Serialize;
use utoipa::ToSchema;

/// Stable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    InvalidQueryParameter,
    InvalidRequest,
    InvalidBody,
    AuthenticationRequired,
    InvalidCredentials,
    CsrfFailed,
    Forbidden,
    IncidentNotFound,
    NotFound,
    RouteNotFound,
    MethodNotAllowed,
    NotAcceptable,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    TooManyRequests,
    StoreUnavailable,
    Internal,
}

/// Broad classes of errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    InvalidRequest,
    Auth,
    System,
    Internal,
}

impl Code {
    pub fn status(self) -> StatusCode {
        match self {
            Code::InvalidQueryParameter | Code::InvalidRequest | Code::InvalidBody => {
                StatusCode::BAD_REQUEST
            }
            Code::AuthenticationRequired | Code::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Code::CsrfFailed | Code::Forbidden => StatusCode::FORBIDDEN,
            Code::IncidentNotFound | Code::NotFound | Code::RouteNotFound => StatusCode::NOT_FOUND,
            Code::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Code::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Code::Conflict => StatusCode::CONFLICT,
            Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Code::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn kind(self) -> ErrorType {
        match self {
            Code::AuthenticationRequired
            | Code::InvalidCredentials
            | Code::CsrfFailed
            | Code::Forbidden => ErrorType::Auth,
            Code::StoreUnavailable | Code::TooManyRequests => ErrorType::System,
            Code::Internal => ErrorType::Internal,
            _ => ErrorType::InvalidRequest,
        }
    }
}

/// The body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiError {
    pub message: String,
    pub code: Code,
    #[serde(rename = "type")]
    pub kind: ErrorType,
    /// For invalid parameters: one entry per parameter at fault.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ParamError>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A request body that could not be read: over the route's limit (413,
    /// with `too_large` as the message) or broken (400).
    pub fn from_body(
        e: axum::extract::rejection::BytesRejection,
        too_large: impl FnOnce() -> String,
    ) -> ApiError {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(Code::PayloadTooLarge, too_large())
        } else {
            ApiError::new(Code::InvalidBody, e.body_text())
        }
    }

    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            message: message.into(),
            code,
            kind: code.kind(),
            details: Vec::new(),
            retry_after: None,
        }
    }

    pub fn incident_not_found() -> ApiError {
        ApiError::new(Code::IncidentNotFound, "no incident with this id")
    }

    pub fn not_found() -> ApiError {
        ApiError::new(Code::NotFound, "not found")
    }

    pub fn authentication_required() -> ApiError {
        ApiError::new(
            Code::AuthenticationRequired,
            "authentication required: send 'Authorization: Bearer <token>' or sign in",
        )
    }

    pub fn invalid_params(details: Vec<ParamError>) -> ApiError {
        let message = details
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        ApiError {
            message,
            code: Code::InvalidQueryParameter,
            kind: ErrorType::InvalidRequest,
            details,
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let retry = self.retry_after;
        let bearer = status == StatusCode::UNAUTHORIZED;
        let mut resp = (status, Json(self)).into_response();
        if let Some(secs) = retry
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if bearer {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sahelwatch\""),
            );
        }
        resp
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        match e {
            AppError::BadRequest(details) => {
                let mut err = ApiError::invalid_params(details);
                err.code = Code::InvalidRequest;
                err
            }
            AppError::NotFound => ApiError::not_found(),
            AppError::Unauthorized => ApiError::authentication_required(),
            AppError::Forbidden(m) => ApiError::new(Code::Forbidden, m),
            AppError::Conflict(m) => ApiError::new(Code::Conflict, m),
            AppError::TooLarge(m) => ApiError::new(Code::PayloadTooLarge, m),
            AppError::TooManyRequests { retry_after_secs } => {
                let mut err = ApiError::new(Code::TooManyRequests, e.to_string());
                err.retry_after = Some(retry_after_secs);
                err
            }
            AppError::File { .. } => ApiError::new(Code::InvalidRequest, e.to_string()),
            AppError::Unavailable(m) => ApiError::new(Code::StoreUnavailable, m),
            AppError::Store(inner) => {
                tracing::error!(error = %inner, "store error");
                ApiError::new(
                    Code::StoreUnavailable,
                    "the database is unavailable; try again later",
                )
            }
            AppError::Io(inner) => {
                tracing::error!(error = %inner, "I/O error");
                ApiError::new(Code::Internal, "internal error")
            }
            AppError::Internal(inner) => {
                tracing::error!(error = %inner, "internal error");
                ApiError::new(Code::Internal, "internal error")
            }
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        // serde_urlencoded names the unknown or malformed field in its message.
        let text = r.body_text();
        let text = text
            .strip_prefix("Failed to deserialize query string: ")
            .unwrap_or(&text)
            .to_string();
        ApiError::new(Code::InvalidQueryParameter, text)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                Code::UnsupportedMediaType,
                "the body must be JSON (Content-Type: application/json)",
            ),
            JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(
                    Code::PayloadTooLarge,
                    "the body is larger than this server accepts",
                )
            }
            other => ApiError::new(Code::InvalidBody, other.body_text()),
        }
    }
}
