//! The one catalogue of API errors. Every error a client can receive has a
//! stable `code`, a `type` and an HTTP status, and is rendered as
//! `{"message", "code", "type", "details"?}`.
//!
//! Messages never carry internal details (SQL, file paths): those go to the
//! server log. A resource the caller may not see is reported exactly like one
//! that does not exist.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
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
    IncidentNotFound,
    RouteNotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    StoreUnavailable,
    Internal,
}

/// Broad classes of errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    InvalidRequest,
    System,
    Internal,
}

impl Code {
    pub fn status(self) -> StatusCode {
        match self {
            Code::InvalidQueryParameter | Code::InvalidRequest => StatusCode::BAD_REQUEST,
            Code::IncidentNotFound | Code::RouteNotFound => StatusCode::NOT_FOUND,
            Code::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn kind(self) -> ErrorType {
        match self {
            Code::StoreUnavailable => ErrorType::System,
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
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            message: message.into(),
            code,
            kind: code.kind(),
            details: Vec::new(),
        }
    }

    pub fn incident_not_found() -> ApiError {
        ApiError::new(Code::IncidentNotFound, "no incident with this id")
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
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.code.status(), Json(self)).into_response()
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        match e {
            AppError::BadRequest(details) => ApiError::invalid_params(details),
            AppError::NotFound => ApiError::new(Code::RouteNotFound, "not found"),
            AppError::File { .. } => ApiError::new(Code::InvalidRequest, e.to_string()),
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
