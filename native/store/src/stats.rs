//! Counters the engine keeps for benchmarks, tests and metrics. Relaxed atomics: they are
//! statistics, not synchronisation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::padded::CachePadded;

/// Upper bounds (microseconds) of the CommitLog fsync latency histogram; one more bucket counts
/// everything slower.
pub const FSYNC_BUCKETS_MICROS: [u64; 12] = [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000];

#[derive(Debug, Default)]
pub struct StoreStats {
    /// Written by the appender on every append: kept off the lines other threads write.
    pub appended_messages: CachePadded<AtomicU64>,
    pub appended_bytes: CachePadded<AtomicU64>,
    /// msync/fdatasync calls made for the CommitLog.
    pub fsyncs: AtomicU64,
    /// Appends that had to create a segment themselves because the allocator was behind.
    pub allocation_stalls: AtomicU64,
    pub segments_allocated: AtomicU64,
    pub dispatched_messages: AtomicU64,
    /// Bytes sent with sendfile (zero-copy transfers).
    pub transferred_bytes: AtomicU64,
    pub segments_deleted: AtomicU64,
    /// Count of fsyncs per latency bucket (see FSYNC_BUCKETS_MICROS; the last is the overflow).
    pub fsync_buckets: [AtomicU64; FSYNC_BUCKETS_MICROS.len() + 1],
    pub fsync_micros_total: AtomicU64,
    /// Messages and bytes returned by getMessages, classed by RocketMQ's in-memory estimate
    /// (see `page_cache::MemoryClassifier`).
    pub read_messages_in_memory: AtomicU64,
    pub read_bytes_in_memory: AtomicU64,
    pub read_messages_on_disk: AtomicU64,
    pub read_bytes_on_disk: AtomicU64,
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
    /// Per-bucket (not cumulative) fsync counts, FSYNC_BUCKETS_MICROS plus the overflow bucket.
    pub fsync_buckets: [u64; FSYNC_BUCKETS_MICROS.len() + 1],
    pub fsync_micros_total: u64,
    pub read_messages_in_memory: u64,
    pub read_bytes_in_memory: u64,
    pub read_messages_on_disk: u64,
    pub read_bytes_on_disk: u64,
}

impl StoreStats {
    /// Records one CommitLog fsync that took `elapsed`.
    pub fn record_fsync(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = FSYNC_BUCKETS_MICROS.iter().position(|&bound| micros <= bound).unwrap_or(FSYNC_BUCKETS_MICROS.len());
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.fsync_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.fsync_micros_total.fetch_add(micros, Ordering::Relaxed);
    }

    /// Records one getMessages result: `(messages, bytes)` judged in memory and on disk.
    pub fn record_reads(&self, in_memory: (u64, u64), on_disk: (u64, u64)) {
        let add = |counter: &AtomicU64, value: u64| {
            if value > 0 {
                counter.fetch_add(value, Ordering::Relaxed);
            }
        };
        add(&self.read_messages_in_memory, in_memory.0);
        add(&self.read_bytes_in_memory, in_memory.1);
        add(&self.read_messages_on_disk, on_disk.0);
        add(&self.read_bytes_on_disk, on_disk.1);
    }

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
            fsync_buckets: std::array::from_fn(|i| get(&self.fsync_buckets[i])),
            fsync_micros_total: get(&self.fsync_micros_total),
            read_messages_in_memory: get(&self.read_messages_in_memory),
            read_bytes_in_memory: get(&self.read_bytes_in_memory),
            read_messages_on_disk: get(&self.read_messages_on_disk),
            read_bytes_on_disk: get(&self.read_bytes_on_disk),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsync_durations_land_in_their_latency_buckets() {
        let stats = StoreStats::default();
        stats.record_fsync(Duration::from_micros(50));
        stats.record_fsync(Duration::from_micros(300));
        stats.record_fsync(Duration::from_micros(500));
        stats.record_fsync(Duration::from_secs(2));
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.fsyncs, 4);
        assert_eq!(snapshot.fsync_buckets[0], 1, "<= 100 us");
        assert_eq!(snapshot.fsync_buckets[2], 2, "<= 500 us (bounds are inclusive)");
        assert_eq!(snapshot.fsync_buckets[FSYNC_BUCKETS_MICROS.len()], 1, "overflow");
        assert_eq!(snapshot.fsync_buckets.iter().sum::<u64>(), 4);
        assert_eq!(snapshot.fsync_micros_total, 50 + 300 + 500 + 2_000_000);
    }
}
