//! storaged's process-level errors: startup and serving. Command outcomes are
//! `tandem_shared::StorageError`; engine failures are `engine::EngineError`.

/// Why storaged could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("storage engine: {0}")]
    Engine(#[from] crate::engine::EngineError),
    #[error("socket {path}: {source}")]
    Socket {
        path: String,
        source: std::io::Error,
    },
}
