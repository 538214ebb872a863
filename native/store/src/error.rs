//! The engine's typed errors. Every variant has a stable `code()` string that crosses the
//! napi boundary unchanged, so TypeScript can branch on it without parsing messages.

use std::path::PathBuf;

/// Errors returned by the storage engine. Operating conditions (disk full, I/O, corrupt
/// files) are values; programmer errors are `debug_assert!`s at the call site.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("I/O error while {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("store directory {0} is locked by another process")]
    Locked(PathBuf),
    #[error("store format marker says {found:?}; this build reads format {expected}")]
    FormatVersion { found: String, expected: u32 },
    #[error("disk usage {used_percent:.1}% is above the {limit_percent}% limit: appends are refused until space is freed")]
    DiskFull { used_percent: f64, limit_percent: u32 },
    #[error("message of {size} bytes exceeds maxMessageSize {max}")]
    MessageTooLarge { size: usize, max: usize },
    #[error("properties of {size} bytes exceed the limit of {max}")]
    PropertiesTooLarge { size: usize, max: usize },
    #[error("topic of {size} bytes exceeds the limit of {max}")]
    TopicTooLong { size: usize, max: usize },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("corrupt data at commit log offset {offset}: {reason}")]
    Corrupt { offset: u64, reason: String },
    #[error("commit log offset {offset} is not readable (readable range {min}..{max})")]
    OffsetOutOfRange { offset: u64, min: u64, max: u64 },
    #[error("replicated data starts at {offered} but this store ends at {expected}")]
    ReplicaOffsetMismatch { offered: u64, expected: u64 },
    #[error("the store is closed")]
    Closed,
    #[error(transparent)]
    ConsumeQueue(#[from] crate::consume_queue::ConsumeQueueError),
    #[error(transparent)]
    Index(#[from] crate::index_file::IndexFileError),
}

impl StoreError {
    /// A stable identifier for the kind of error; part of the public contract.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Io { .. } => "IO",
            StoreError::Locked(_) => "STORE_LOCKED",
            StoreError::FormatVersion { .. } => "FORMAT_VERSION",
            StoreError::DiskFull { .. } => "DISK_FULL",
            StoreError::MessageTooLarge { .. } => "MESSAGE_TOO_LARGE",
            StoreError::PropertiesTooLarge { .. } => "PROPERTIES_TOO_LARGE",
            StoreError::TopicTooLong { .. } => "TOPIC_TOO_LONG",
            StoreError::InvalidArgument(_) => "INVALID_ARGUMENT",
            StoreError::Corrupt { .. } => "CORRUPT",
            StoreError::OffsetOutOfRange { .. } => "OFFSET_OUT_OF_RANGE",
            StoreError::ReplicaOffsetMismatch { .. } => "REPLICA_OFFSET_MISMATCH",
            StoreError::Closed => "CLOSED",
            StoreError::ConsumeQueue(error) => error.code(),
            StoreError::Index(error) => error.code(),
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StoreError::Io { context: context.into(), source }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Attach a context sentence to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| StoreError::io(context(), source))
    }
}
