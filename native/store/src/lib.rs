//! Bolide's storage engine: CommitLog, ConsumeQueue, IndexFile, flush, dispatch, recovery and
//! retention, with no dependency on napi (the binding lives in `native/src`).
//!
//! See `docs/internals/engine.md` for the threads and the contracts between modules; every
//! module that owns an on-disk format states it, with its crash story, in its module doc.

pub mod allocator;
pub mod checkpoint;
pub mod commit_log;
pub mod config;
pub mod consume_queue;
pub mod error;
pub mod clean;
pub mod dispatch;
pub mod flush;
pub mod index_file;
pub mod java_hash;
pub mod mapped_file;
pub mod padded;
pub mod page_cache;
pub mod queue_offset_table;
pub mod read;
pub mod record;
pub mod stats;
pub mod store;
pub mod thread_priority;
pub mod transfer;

pub use config::{FlushDiskType, StoreConfig};
pub use error::{Result, StoreError};

/// Version of the on-disk format this build reads and writes.
pub fn engine_version() -> u32 {
    checkpoint::FORMAT_VERSION
}
