//! Engine settings. Names follow RocketMQ's broker.conf keys (in snake_case) so an operator
//! can map each one to the documentation they already know.

use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDiskType {
    /// Group commit: appends that wait for durability share one msync of the dirty range.
    SyncFlush,
    /// A background flusher every `flush_interval_commit_log_ms`.
    AsyncFlush,
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub store_path_root_dir: PathBuf,
    /// `mappedFileSizeCommitLog`: bytes per CommitLog segment (1 GiB).
    pub mapped_file_size_commit_log: u64,
    /// `mappedFileSizeConsumeQueue` / 20: entries per ConsumeQueue file (300,000).
    pub consume_queue_entries_per_file: u64,
    pub flush_disk_type: FlushDiskType,
    /// `flushIntervalCommitLog` (ASYNC_FLUSH): how often the flusher looks at dirty pages.
    pub flush_interval_commit_log_ms: u64,
    /// `flushCommitLogLeastPages`: dirty 4 KiB pages needed before an ASYNC flush.
    pub flush_commit_log_least_pages: u64,
    /// `flushCommitLogThoroughInterval`: an ASYNC flush of everything at least this often.
    pub flush_commit_log_thorough_interval_ms: u64,
    /// `flushIntervalConsumeQueue`: ConsumeQueue/index flush and checkpoint cadence.
    pub flush_interval_consume_queue_ms: u64,
    /// `maxMessageSize`: largest body accepted (4 MiB).
    pub max_message_size: usize,
    /// `warmMappedFile`: touch every page of a new segment before it is used.
    pub warm_mapped_file: bool,
    /// `fileReservedTime` in hours (72).
    pub file_reserved_time_hours: u64,
    /// `deleteWhen`: hours of the day ("04", "03;04") when expired segments are deleted.
    pub delete_when: Vec<u32>,
    /// `diskMaxUsedSpaceRatio` (75): above it expired files are deleted at any hour.
    pub disk_max_used_space_ratio: u32,
    /// Above this (85) the oldest segments are deleted even before they expire.
    pub disk_clean_forcibly_ratio: u32,
    /// Above this (90) appends fail with DiskFull until usage drops again.
    pub disk_full_ratio: u32,
    /// How often the clean service runs.
    pub clean_resource_interval_ms: u64,
    /// `messageIndexEnable`: build the IndexFile for keys and unique keys.
    pub message_index_enable: bool,
    /// `maxHashSlotNum` / `maxIndexNum` of an IndexFile.
    pub max_hash_slot_num: u32,
    pub max_index_num: u32,
    /// Open ConsumeQueue file handles kept in the LRU.
    pub consume_queue_open_files_max: usize,
    /// Bolide: MADV_WILLNEED ahead of a reader that is catching up in an older segment.
    pub catch_up_read_ahead: bool,
    /// Bolide: MADV_DONTNEED on segments the writer has left behind (two back), so the
    /// process does not keep their pages mapped (RssFile); the page cache keeps them.
    pub release_cold_segments: bool,
    /// Bolide: start writeback (sync_file_range WRITE, not waiting) of what the writer left
    /// 4-8 MiB behind, so dirty pages do not pile up until the next flush and that flush is
    /// short. Durability is unchanged: only a flush reports a flushed offset.
    pub write_back_behind_head: bool,
    /// Bolide: appends are encoded into a buffer and written to the segment file with pwrite
    /// instead of being encoded into the mapping (which readers still use). Why: the group
    /// commit of bytes written through the mapping took 1.5-2x as long as of the same bytes
    /// written with pwrite (mapped pages are dirtied by page faults and write-protected again
    /// by writeback), which bounds SYNC_FLUSH throughput. Costs a system call per append call,
    /// which with ASYNC_FLUSH halved single appends. `None`: on with SYNC_FLUSH only.
    pub append_by_pwrite: Option<bool>,
    /// Bolide: with appends by pwrite, the allocator thread writes zeros 4-12 MiB ahead of the
    /// write head and waits for them to reach the disk (`Segment::zero_fill_ahead`), so group
    /// commits land on initialized blocks: fdatasync into fallocate's unwritten extents also
    /// commits the file system's journal. Costs writing the CommitLog twice. Off by default:
    /// on this project's VM it raised 1 and 16 SYNC_FLUSH waiters by 10-40% but halved 256
    /// waiters once the disk's sustained bandwidth was reached (~140k instead of ~250k msg/s
    /// after the first second). Worth it where syncs, not bandwidth, are the limit.
    pub zero_fill_ahead: bool,
    /// Bolide: the helper threads (allocator, dispatcher, retention, page-cache sampler) run
    /// at a higher nice value than the thread that opened the store, so on a busy machine the
    /// appending thread and the flusher win the cores (`thread_priority`). Default true.
    pub lower_helper_thread_priority: bool,
    /// `accessMessageInMemoryMaxRatio` (40): a read at most this percentage of physical memory
    /// behind the write head counts as served from memory (page-cache hints only; Bolide does
    /// not change its pull batching on it).
    pub access_message_in_memory_max_ratio: u32,
    /// Bolide: physical memory size for that estimate; `None`: RAM or the cgroup limit if lower.
    pub total_physical_memory_size: Option<u64>,
    /// Bolide: how often CommitLog residency (mincore) is sampled; 0 = only on request.
    pub page_cache_sample_interval_ms: u64,
}

impl StoreConfig {
    pub fn new(store_path_root_dir: impl Into<PathBuf>) -> Self {
        StoreConfig {
            store_path_root_dir: store_path_root_dir.into(),
            mapped_file_size_commit_log: 1 << 30,
            consume_queue_entries_per_file: 300_000,
            flush_disk_type: FlushDiskType::AsyncFlush,
            flush_interval_commit_log_ms: 500,
            flush_commit_log_least_pages: 4,
            flush_commit_log_thorough_interval_ms: 10_000,
            flush_interval_consume_queue_ms: 1_000,
            max_message_size: 4 * 1024 * 1024,
            warm_mapped_file: false,
            file_reserved_time_hours: 72,
            delete_when: vec![4],
            disk_max_used_space_ratio: 75,
            disk_clean_forcibly_ratio: 85,
            disk_full_ratio: 90,
            clean_resource_interval_ms: 10_000,
            message_index_enable: true,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            consume_queue_open_files_max: 1024,
            catch_up_read_ahead: true,
            release_cold_segments: true,
            write_back_behind_head: true,
            append_by_pwrite: None,
            zero_fill_ahead: false,
            lower_helper_thread_priority: true,
            access_message_in_memory_max_ratio: 40,
            total_physical_memory_size: None,
            page_cache_sample_interval_ms: 10_000,
        }
    }

    pub fn commit_log_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("commitlog")
    }

    pub fn consume_queue_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("consumequeue")
    }

    pub fn index_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("index")
    }

    /// Checks relations between settings once, at open.
    pub fn validate(&self) -> crate::error::Result<()> {
        use crate::error::StoreError::InvalidArgument;
        let page = 4096;
        if self.mapped_file_size_commit_log < 64 * 1024 || !self.mapped_file_size_commit_log.is_multiple_of(page) {
            return Err(InvalidArgument(format!(
                "mappedFileSizeCommitLog {} must be a multiple of 4096 and at least 64 KiB",
                self.mapped_file_size_commit_log
            )));
        }
        let record_overhead = 512 + crate::record::PROPERTIES_SIZE_MAX as u64;
        if (self.max_message_size as u64) + record_overhead > self.mapped_file_size_commit_log {
            return Err(InvalidArgument(format!(
                "maxMessageSize {} does not fit in a CommitLog segment of {} bytes",
                self.max_message_size, self.mapped_file_size_commit_log
            )));
        }
        if self.consume_queue_entries_per_file == 0 {
            return Err(InvalidArgument("consume queue entries per file must be positive".into()));
        }
        if !(self.disk_max_used_space_ratio <= self.disk_clean_forcibly_ratio
            && self.disk_clean_forcibly_ratio <= self.disk_full_ratio
            && self.disk_full_ratio <= 100)
        {
            return Err(InvalidArgument(format!(
                "disk ratios must satisfy diskMaxUsedSpaceRatio ({}) <= clean-forcibly ({}) <= disk-full ({}) <= 100",
                self.disk_max_used_space_ratio, self.disk_clean_forcibly_ratio, self.disk_full_ratio
            )));
        }
        if self.access_message_in_memory_max_ratio > 100 {
            return Err(InvalidArgument(format!(
                "accessMessageInMemoryMaxRatio must be 0..100, got {}",
                self.access_message_in_memory_max_ratio
            )));
        }
        if self.delete_when.iter().any(|&hour| hour > 23) {
            return Err(InvalidArgument(format!("deleteWhen hours must be 0..23, got {:?}", self.delete_when)));
        }
        Ok(())
    }
}
