//! `MessageStore`: the engine's facade. It owns the CommitLog, the ConsumeQueues, the index
//! and the background services, and runs recovery at open.
//!
//! Recovery story:
//! - clean shutdown (no `abort` file): the checkpoint's `safe_offset` is the exact end of the
//!   log, everything below it is flushed and dispatched; start-up reads it and does not scan,
//!   so it costs the same for a 1 MiB and a 1 TiB store.
//! - after a crash: records from `safe_offset` on are verified (magic, size, body CRC) and
//!   re-dispatched (idempotent); the first bad record ends the log: its bytes and everything
//!   after it in the segment are zeroed, later segments deleted, ConsumeQueue entries pointing
//!   past the end dropped. Work is proportional to the unchecked tail only.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::allocator::AllocatorOptions;
use crate::checkpoint::{Checkpoint, CheckpointWriter, ControlFiles};
use crate::clean::{CleanService, DiskUsageProbe, StatvfsProbe};
use crate::commit_log::{AppendMode, AppendResult, CommitLog};
use crate::config::{FlushDiskType, StoreConfig};
use crate::consume_queue::{ConsumeQueueConfig, ConsumeQueueStore};
use crate::dispatch::{DispatchContext, DispatchListener, Dispatcher};
use crate::error::{Result, StoreError};
use crate::flush::{FlushListener, FlushService};
use crate::index_file::{IndexConfig, IndexService};
use crate::page_cache::{MemoryClassifier, ResidencySample, ResidencySampler};
use crate::queue_offset_table::QueueOffsetTable;
use crate::record::MessageInput;
use crate::stats::{StatsSnapshot, StoreStats};

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// What recovery found; exposed for tests and start-up logs.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecoveryReport {
    pub was_aborted: bool,
    pub checkpoint_offset: u64,
    pub end_offset: u64,
    /// Bytes after the checkpoint that were verified.
    pub verified_bytes: u64,
    /// Whether the walk stopped at bad bytes (a torn or corrupt tail) that were removed.
    pub truncated_corrupt_tail: bool,
}

pub struct MessageStore {
    pub(crate) config: StoreConfig,
    control: ControlFiles,
    pub(crate) commit_log: Arc<CommitLog>,
    pub(crate) consume_queues: Arc<ConsumeQueueStore>,
    pub(crate) index: Option<Arc<IndexService>>,
    flush: FlushService,
    dispatcher: Dispatcher,
    checkpointer: Option<Checkpointer>,
    pub(crate) clean: CleanService,
    pub(crate) stats: Arc<StoreStats>,
    pub(crate) memory_classifier: MemoryClassifier,
    residency: ResidencySampler,
    recovery: RecoveryReport,
    closed: AtomicBool,
}

impl MessageStore {
    pub fn open(config: StoreConfig) -> Result<MessageStore> {
        Self::open_with_probe(config, Arc::new(StatvfsProbe))
    }

    /// Open with an injected disk-usage probe (tests simulate a full disk with it).
    pub fn open_with_probe(config: StoreConfig, probe: Arc<dyn DiskUsageProbe>) -> Result<MessageStore> {
        config.validate()?;
        let control = ControlFiles::acquire(&config.store_path_root_dir)?;
        let was_aborted = control.was_aborted();
        let checkpoint = control.read_checkpoint();
        control.mark_running()?;
        let stats = Arc::new(StoreStats::default());
        let mut commit_log = CommitLog::open(
            &config.commit_log_dir(),
            config.mapped_file_size_commit_log,
            config.max_message_size,
            AllocatorOptions { warm: config.warm_mapped_file, lower_priority: config.lower_helper_thread_priority },
            stats.clone(),
        )?;
        commit_log.set_release_cold_segments(config.release_cold_segments);
        commit_log.set_write_back_behind_head(config.write_back_behind_head);
        let sync_flush = config.flush_disk_type == FlushDiskType::SyncFlush;
        commit_log.set_append_mode(match config.append_by_pwrite.unwrap_or(sync_flush) {
            false => AppendMode::Mapping,
            // With SYNC_FLUSH nobody is told a record is stored before a flush, which commits
            // first, so the pwrite can wait for it. With ASYNC_FLUSH an acknowledged record
            // must be in the page cache when the append returns (it survives a process crash).
            true if sync_flush => AppendMode::DeferredPwrite,
            true => AppendMode::Pwrite,
        });
        commit_log.set_zero_fill_ahead(config.zero_fill_ahead);
        let commit_log = Arc::new(commit_log);
        let consume_queues = Arc::new(ConsumeQueueStore::open(
            config.consume_queue_dir(),
            ConsumeQueueConfig {
                entries_per_file: u32::try_from(config.consume_queue_entries_per_file).map_err(|_| {
                    StoreError::InvalidArgument("consume queue entries per file must fit in 32 bits".into())
                })?,
                open_files_max: config.consume_queue_open_files_max,
                ..ConsumeQueueConfig::default()
            },
        )?);
        let index = if config.message_index_enable {
            Some(Arc::new(IndexService::open(
                config.index_dir(),
                IndexConfig { max_hash_slots: config.max_hash_slot_num, max_index_entries: config.max_index_num },
            )?))
        } else {
            None
        };
        let context = Arc::new(DispatchContext {
            commit_log: commit_log.clone(),
            consume_queues: consume_queues.clone(),
            index: index.clone(),
            stats: stats.clone(),
            dispatched_offset: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        });
        let recovery = recover(&context, checkpoint, was_aborted)?;
        commit_log.set_queue_offsets(queue_offset_table(&consume_queues));
        let clean = CleanService::start(config.clone(), context.clone(), probe);
        let flush = FlushService::start(commit_log.clone(), &config);
        let dispatcher = Dispatcher::start(context, recovery.end_offset, config.lower_helper_thread_priority);
        let memory_classifier = MemoryClassifier::new(
            config.total_physical_memory_size.unwrap_or_else(crate::page_cache::total_physical_memory),
            config.access_message_in_memory_max_ratio,
        );
        let sample_interval = Duration::from_millis(config.page_cache_sample_interval_ms);
        let residency = ResidencySampler::start(commit_log.clone(), sample_interval, config.lower_helper_thread_priority);
        let mut store = MessageStore {
            config,
            control,
            commit_log,
            consume_queues,
            index,
            flush,
            dispatcher,
            checkpointer: None,
            clean,
            stats,
            memory_classifier,
            residency,
            recovery,
            closed: AtomicBool::new(false),
        };
        store.checkpointer = Some(Checkpointer::start(&store));
        Ok(store)
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    pub fn recovery_report(&self) -> RecoveryReport {
        self.recovery
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Bytes behind the write head that reads are still counted "in memory" within.
    pub fn in_memory_window(&self) -> u64 {
        self.memory_classifier.window()
    }

    /// The latest CommitLog residency sample (None until the sampler's first pass).
    pub fn page_cache_residency(&self) -> Option<ResidencySample> {
        self.residency.latest()
    }

    /// Sample CommitLog residency now, on this thread (costs a mincore walk of every segment).
    pub fn sample_page_cache_now(&self) -> Result<ResidencySample> {
        self.check_open()?;
        self.residency.sample_now()
    }

    pub fn set_store_host(&self, host: SocketAddr) {
        self.commit_log.set_store_host(host);
    }

    pub fn set_flush_listener(&self, listener: Option<FlushListener>) {
        self.flush.set_listener(listener);
    }

    pub fn set_dispatch_listener(&self, listener: Option<DispatchListener>) {
        self.dispatcher.set_listener(listener);
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        Ok(())
    }

    /// Append messages (one, or a batch stored as one unit). Returns at once; durability is
    /// reported through the flush listener (`flushed_offset >= result.end_offset()`).
    pub fn append(&self, messages: &[MessageInput<'_>]) -> Result<Vec<AppendResult>> {
        self.appending(|commit_log, now| commit_log.append(messages, now))
    }

    /// `append` of a single message, without the result vector.
    pub fn append_one(&self, message: &MessageInput<'_>) -> Result<AppendResult> {
        self.appending(|commit_log, now| commit_log.append_one(message, now))
    }

    /// What every local append does around the CommitLog's: refuse when closed or the disk
    /// is full, then wake the dispatcher.
    fn appending<T>(&self, append: impl FnOnce(&CommitLog, i64) -> Result<T>) -> Result<T> {
        self.check_open()?;
        self.clean.check_writable()?;
        let appended = append(&self.commit_log, now_ms())?;
        self.dispatcher.wake();
        Ok(appended)
    }

    /// SYNC_FLUSH: start a group commit of everything appended so far. Callers that append in
    /// bursts (the JS side, once per event-loop turn) call this once per burst, so one fsync
    /// covers the whole burst instead of the first append alone. The flusher also syncs on its
    /// own every 10 ms when there is unflushed data.
    pub fn request_flush(&self) {
        self.flush.request();
    }

    /// Slave side of replication: see `CommitLog::append_raw`.
    pub fn append_replicated(&self, offset: u64, bytes: &[u8]) -> Result<u64> {
        self.check_open()?;
        self.clean.check_writable()?;
        let end = self.commit_log.append_raw(offset, bytes)?;
        self.flush.request();
        self.dispatcher.wake();
        Ok(end)
    }

    /// Master side of replication: raw CommitLog bytes from `offset` (one segment at most).
    pub fn read_replication_range(&self, offset: u64, max_len: usize) -> Result<Vec<u8>> {
        self.check_open()?;
        self.commit_log.read_raw(offset, max_len)
    }

    pub fn commit_log_min_offset(&self) -> u64 {
        self.commit_log.min_offset()
    }

    pub fn commit_log_max_offset(&self) -> u64 {
        self.commit_log.write_position()
    }

    pub fn flushed_offset(&self) -> u64 {
        self.commit_log.flushed_position()
    }

    pub fn dispatched_offset(&self) -> u64 {
        self.dispatcher.dispatched_offset()
    }

    pub fn dispatch_error(&self) -> Option<String> {
        self.dispatcher.last_error()
    }

    /// Wait until every appended record is in its ConsumeQueue (tests, shutdown).
    pub fn wait_dispatched(&self, timeout: Duration) -> bool {
        self.dispatcher.wait_caught_up(timeout)
    }

    /// Flush everything written so far, synchronously.
    pub fn flush_all(&self) -> Result<u64> {
        let end = self.commit_log.commit()?;
        self.commit_log.flush_to(end)
    }

    /// Delete a topic's ConsumeQueues and forget its queue offsets, so a topic created again
    /// under the same name starts at offset 0. Its records stay in the CommitLog until retention
    /// removes them (they are no longer reachable by queue). Waits (bounded) for the dispatcher
    /// first, so records appended before the call do not recreate the queues afterwards.
    /// Returns whether the topic had queues.
    ///
    /// # Errors
    /// `Io` if the topic's directory cannot be removed.
    pub fn delete_topic(&self, topic: &str) -> Result<bool> {
        self.dispatcher.wait_caught_up(Duration::from_secs(2));
        self.commit_log.remove_topic_offsets(topic);
        Ok(self.consume_queues.delete_topic(topic)?)
    }

    /// Run one retention pass now (also runs on its own timer).
    pub fn clean_now(&self) -> Result<crate::clean::CleanReport> {
        self.clean.run_once()
    }

    /// Stop as if the process had been killed: background threads end, nothing more is
    /// flushed or checkpointed, the abort marker stays, and the directory lock is released.
    /// What is in the page cache stays, exactly as after `kill -9`. For crash tests.
    pub fn abandon(mut self) {
        self.closed.store(true, Ordering::Release);
        if let Some(mut checkpointer) = self.checkpointer.take() {
            checkpointer.stop();
        }
        self.residency.stop();
        self.clean.stop();
        self.flush.stop();
        self.dispatcher.stop();
    }

    /// Clean shutdown: flush, finish dispatching, write the checkpoint, drop the abort marker.
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        if let Some(mut checkpointer) = self.checkpointer.take() {
            checkpointer.stop();
        }
        self.residency.stop();
        self.clean.stop();
        self.flush.stop();
        let end = self.commit_log.commit()?;
        self.commit_log.flush_to(end)?;
        let caught_up = self.dispatcher.wait_caught_up(Duration::from_secs(30));
        self.dispatcher.stop();
        if !caught_up {
            // The abort marker stays: the next start re-dispatches from the last checkpoint.
            return Err(StoreError::Corrupt {
                offset: self.dispatcher.dispatched_offset(),
                reason: "dispatch did not catch up before shutdown".into(),
            });
        }
        self.consume_queues.flush()?;
        if let Some(index) = &self.index {
            index.flush()?;
        }
        self.control
            .checkpoint_writer()
            .write(&Checkpoint { safe_offset: end, physic_msg_timestamp: 0, written_at_ms: now_ms() })?;
        self.control.mark_clean_shutdown()
    }

    /// Write a checkpoint now: flush ConsumeQueues and index, then record the safe offset.
    pub fn checkpoint_now(&self) -> Result<Checkpoint> {
        write_checkpoint(
            &self.control.checkpoint_writer(),
            &self.commit_log,
            &self.consume_queues,
            self.index.as_deref(),
            self.dispatcher.dispatched_offset(),
        )
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

fn write_checkpoint(
    writer: &CheckpointWriter,
    commit_log: &CommitLog,
    consume_queues: &ConsumeQueueStore,
    index: Option<&IndexService>,
    dispatched: u64,
) -> Result<Checkpoint> {
    // Order matters: flush the derived files first, so the checkpoint never claims an entry
    // is durable before it is.
    consume_queues.flush()?;
    if let Some(index) = index {
        index.flush()?;
    }
    let safe_offset = dispatched.min(commit_log.flushed_position());
    let checkpoint = Checkpoint { safe_offset, physic_msg_timestamp: 0, written_at_ms: now_ms() };
    writer.write(&checkpoint)?;
    Ok(checkpoint)
}

fn recover(context: &DispatchContext, checkpoint: Option<Checkpoint>, was_aborted: bool) -> Result<RecoveryReport> {
    let commit_log = &context.commit_log;
    let min = commit_log.min_offset();
    let segments = commit_log.segments();
    let clean_start = !was_aborted && checkpoint.is_some();
    let start = checkpoint.map_or(min, |c| c.safe_offset).max(min);
    let mut report = RecoveryReport { was_aborted, checkpoint_offset: start, ..RecoveryReport::default() };
    if segments.is_empty() {
        commit_log.set_recovered_end(0);
        context.consume_queues.truncate_dirty(0)?;
        return Ok(report);
    }
    if clean_start {
        report.end_offset = start;
        commit_log.set_recovered_end(start);
        context.consume_queues.truncate_dirty(start as i64)?;
        context.consume_queues.delete_expired(min as i64)?;
        context.dispatched_offset.store(start, Ordering::Release);
        return Ok(report);
    }
    let (end, corrupt) = commit_log.scan_valid_end(start, |_| {});
    commit_log.truncate_after(end, corrupt)?;
    commit_log.set_recovered_end(end);
    context.consume_queues.truncate_dirty(end as i64)?;
    context.consume_queues.delete_expired(min as i64)?;
    let mut redispatch_from = start;
    if let Some(index) = &context.index {
        // Index files are rebuilt from where their last complete file ends; ConsumeQueue
        // writes are idempotent, so re-dispatching from the earlier of the two is safe.
        if let Some(reindex_from) = index.truncate_after(end as i64)? {
            redispatch_from = redispatch_from.min((reindex_from.max(0) as u64).max(min));
        }
    }
    // Re-dispatch the verified tail so ConsumeQueues and the index cover it before any
    // append takes a queue offset.
    let mut offset = redispatch_from;
    while offset < end {
        let (next, _) = context.dispatch_range(offset, end)?;
        if next == offset {
            break;
        }
        offset = next;
    }
    context.dispatched_offset.store(end, Ordering::Release);
    report.end_offset = end;
    report.verified_bytes = end - start;
    report.truncated_corrupt_tail = corrupt;
    Ok(report)
}

fn queue_offset_table(consume_queues: &ConsumeQueueStore) -> QueueOffsetTable {
    let mut table = QueueOffsetTable::default();
    for (topic, queue_id) in consume_queues.queues() {
        table.set(&topic, queue_id, consume_queues.max_offset(&topic, queue_id));
    }
    table
}

/// Flushes ConsumeQueues and the index and writes the checkpoint every
/// `flush_interval_consume_queue_ms`, bounding what a crash recovery must verify.
struct Checkpointer {
    signal: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(store: &MessageStore) -> Checkpointer {
        let signal = Arc::new((Mutex::new(false), Condvar::new()));
        let worker_signal = signal.clone();
        let interval = Duration::from_millis(store.config.flush_interval_consume_queue_ms.max(10));
        let writer = store.control.checkpoint_writer();
        let commit_log = store.commit_log.clone();
        let consume_queues = store.consume_queues.clone();
        let index = store.index.clone();
        let dispatched = store.dispatcher.offset_handle();
        let thread = std::thread::Builder::new()
            .name("bolide-checkpoint".into())
            .spawn(move || {
                let (lock, condvar) = &*worker_signal;
                let mut last_safe = u64::MAX;
                loop {
                    let stopping = lock.lock().expect("checkpoint lock");
                    // Check before waiting too: a stop signalled while we were working must
                    // not be lost.
                    let (stopping, _) = condvar
                        .wait_timeout_while(stopping, interval, |stopping| !*stopping)
                        .expect("checkpoint lock");
                    if *stopping {
                        return;
                    }
                    drop(stopping);
                    let safe = dispatched.load(Ordering::Acquire).min(commit_log.flushed_position());
                    if safe != last_safe {
                        let offset = dispatched.load(Ordering::Acquire);
                        if write_checkpoint(&writer, &commit_log, &consume_queues, index.as_deref(), offset).is_ok() {
                            last_safe = safe;
                        }
                    }
                }
            })
            .ok();
        Checkpointer { signal, thread }
    }

    fn stop(&mut self) {
        *self.signal.0.lock().expect("checkpoint lock") = true;
        self.signal.1.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl MessageStore {
    /// The segment whose first physical offset is `start`.
    pub fn segment_starting_at(&self, start: u64) -> Option<Arc<crate::mapped_file::Segment>> {
        self.commit_log.segment_for(start).filter(|segment| segment.file_from_offset() == start)
    }

    /// The live counters, for code that updates them (transfers).
    pub fn stats_handle(&self) -> &StoreStats {
        &self.stats
    }
}
