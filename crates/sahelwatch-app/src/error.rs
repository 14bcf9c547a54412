use crate::query::ParamError;
use sahelwatch_ingest::FileError;
use sahelwatch_store::StoreError;

/// Errors of the use cases. The server maps each to a stable API error code;
/// the CLI prints them.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// One or more request parameters are invalid; each names its parameter.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    BadRequest(Vec<ParamError>),
    /// Not found, or not visible to the caller: the two are never told apart.
    #[error("not found")]
    NotFound,
    /// No valid credentials (missing, wrong, expired or revoked).
    #[error("authentication required")]
    Unauthorized,
    /// Authenticated, but the role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// A unique name is taken.
    #[error("{0}")]
    Conflict(String),
    /// A body or text is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// Too many failed sign-ins; try again after this many seconds.
    #[error("too many failed sign-in attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    /// The file as a whole cannot be imported (nothing was written).
    #[error("{source_name}: {error}")]
    File {
        source_name: String,
        error: FileError,
    },
    /// A service this needs is not running or failed; the client may retry.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Store(StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::Conflict(m) => AppError::Conflict(m),
            other => AppError::Store(other),
        }
    }
}

impl AppError {
    pub fn bad(parameter: &str, value: &str, message: impl Into<String>) -> AppError {
        AppError::BadRequest(vec![ParamError::new(parameter, value, message)])
    }
}
