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
    #[error("not found")]
    NotFound,
    /// The file as a whole cannot be imported (nothing was written).
    #[error("{source_name}: {error}")]
    File {
        source_name: String,
        error: FileError,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("internal error: {0}")]
    Internal(String),
}
