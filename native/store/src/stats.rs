//! Counters the engine keeps for benchmarks, tests and metrics. Relaxed atomics: they are
//! statistics, not synchronisation.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct StoreStats {
    pub appended_messages: AtomicU64,
    pub appended_bytes: AtomicU64,
    /// msync/fdatasync calls made for the CommitLog.
    pub fsyncs: AtomicU64,
    /// Appends that had to create a segment themselves because the allocator was behind.
    pub allocation_stalls: AtomicU64,
    pub segments_allocated: AtomicU64,
    pub dispatched_messages: AtomicU64,
    /// Bytes sent with sendfile (zero-copy transfers).
    pub transferred_bytes: AtomicU64,
    pub segments_deleted: AtomicU64,
}

/// A point-in-time copy of the counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatsSnapshot {
    pub appended_messages: u64,
    pub appended_bytes: u64,
    pub fsyncs: u64,
    pub allocation_stalls: u64,
    pub segments_allocated: u64,
    pub dispatched_messages: u64,
    pub transferred_bytes: u64,
    pub segments_deleted: u64,
}

impl StoreStats {
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StatsSnapshot {
            appended_messages: get(&self.appended_messages),
            appended_bytes: get(&self.appended_bytes),
            fsyncs: get(&self.fsyncs),
            allocation_stalls: get(&self.allocation_stalls),
            segments_allocated: get(&self.segments_allocated),
            dispatched_messages: get(&self.dispatched_messages),
            transferred_bytes: get(&self.transferred_bytes),
            segments_deleted: get(&self.segments_deleted),
        }
    }
}
