//! The CommitLog: every message of every topic, appended in arrival order to fixed-size
//! mmap'd segments named by their first physical offset (see `record.rs` for the layout).
//!
//! Concurrency contract: one writer (the JS thread, or the replication applier on a slave)
//! holds `write`; any thread may read. Records go above `write_position` in one of three ways
//! (`AppendMode`; the mapping shows the same page-cache pages whichever is used), and the new
//! position is published with a Release store; readers load it with Acquire and never read
//! past it. Published bytes are never modified again (recovery runs before the store is shared).
//!
//! With `AppendMode::DeferredPwrite` an append only stages its records (`appended_position`
//! moves, `write_position` does not); they are written with one pwrite and published by the
//! first `commit`: the flusher's before each group commit, the dispatcher's, a reader's that
//! asks for one of them, or the appender's own once the stage is large. A staged record is
//! neither readable nor durable, exactly like one never appended, so a crash before the commit
//! loses only records nobody has been told are stored (with SYNC_FLUSH, the mode's default).
//!
//! Segment roll-over: when a record (plus an 8-byte BLANK header) does not fit in the rest of
//! the current segment, a BLANK record fills the rest and the record goes to the next segment,
//! which the allocator thread has normally created, preallocated and mapped already.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::allocator::{AllocatorOptions, SegmentAllocator};
use crate::error::{IoContext, Result, StoreError};
use crate::mapped_file::{segment_file_name, Segment};
use crate::record::{
    self, decode_record, encode_record, record_size, Decoded, MessageInput, Placement, BLANK_MAGIC,
    END_FILE_MIN_BLANK_LENGTH,
};
use crate::padded::CachePadded;
use crate::queue_offset_table::QueueOffsetTable;
use crate::stats::StoreStats;

/// The result of one appended message.
#[derive(Debug, Clone)]
pub struct AppendResult {
    pub physical_offset: u64,
    pub size: u32,
    pub queue_offset: i64,
    pub store_timestamp: i64,
    /// The STOREHOST written into the record (the offset msg id is derived from it).
    pub store_host: SocketAddr,
}

impl AppendResult {
    /// Offset message id: store host + physical offset, hex (computed on demand: formatting it
    /// on every append is measurable and most callers format it themselves).
    pub fn msg_id(&self) -> String {
        record::offset_msg_id(&self.store_host, self.physical_offset as i64)
    }

    /// The position a durability waiter needs `flushed_position` to reach.
    pub fn end_offset(&self) -> u64 {
        self.physical_offset + u64::from(self.size)
    }
}

struct WriteState {
    /// Next queue offset per topic and queueId; seeded from the ConsumeQueues at open.
    queue_offsets: QueueOffsetTable,
    store_host: SocketAddr,
    /// The segment holding the write position (cached to avoid the segment list lock).
    current: Option<Arc<Segment>>,
    /// Replication: bytes received from the master, possibly ending inside a record that is
    /// not published yet. Equal to `CommitLog::appended_position` when no partial record is
    /// pending.
    received_position: u64,
    /// Records encoded but not yet written to the file (pwrite modes). They may run across a
    /// segment end (a BLANK and the next segment's first records) with `DeferredPwrite`.
    staged: Staged,
}

/// How appended records reach the segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendMode {
    /// Encoded straight into the mapping by the appender.
    Mapping,
    /// Encoded into a buffer and written with one pwrite per append call.
    Pwrite,
    /// Encoded into a buffer; written with one pwrite per `commit` (see the module docs).
    DeferredPwrite,
}

pub struct CommitLog {
    dir: PathBuf,
    segment_size: u64,
    max_message_size: usize,
    segments: RwLock<Vec<Arc<Segment>>>,
    // Each on its own cache lines: the appender locks `write` and stores `write_position`,
    // the dispatcher polls `write_position`, the flusher stores `flushed_position`.
    write: CachePadded<Mutex<WriteState>>,
    write_position: CachePadded<AtomicU64>,
    /// Records being written by a commit (`commit_log_staged.rs`).
    committing: Mutex<Staged>,
    /// End of the last appended record (staged or written): the next append goes here. Stored
    /// only under `write`; read without it to tell whether anything is staged.
    appended_position: CachePadded<AtomicU64>,
    flushed_position: CachePadded<AtomicU64>,
    allocator: SegmentAllocator,
    stats: Arc<StoreStats>,
    release_cold_segments: bool,
    write_back_behind_head: bool,
    append_mode: AppendMode,
    zero_fill_ahead: bool,
    /// Tests: the next staged write fails as if the disk had refused it.
    #[cfg(test)]
    fail_next_staged_write: std::sync::atomic::AtomicBool,
}

impl CommitLog {
    /// Map the existing segments of `dir` (creating it if needed). Positions are set by
    /// recovery (`set_recovered_end`) before the log is used.
    pub fn open(
        dir: &Path,
        segment_size: u64,
        max_message_size: usize,
        allocator: AllocatorOptions,
        stats: Arc<StoreStats>,
    ) -> Result<CommitLog> {
        std::fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
        let segments = load_segments(dir, segment_size)?;
        Ok(CommitLog {
            dir: dir.to_path_buf(),
            segment_size,
            max_message_size,
            segments: RwLock::new(segments),
            write: CachePadded::new(Mutex::new(WriteState {
                queue_offsets: QueueOffsetTable::default(),
                store_host: SocketAddr::from(([127, 0, 0, 1], 10911)),
                current: None,
                received_position: 0,
                staged: Staged::default(),
            })),
            write_position: CachePadded::new(AtomicU64::new(0)),
            committing: Mutex::new(Staged::default()),
            appended_position: CachePadded::new(AtomicU64::new(0)),
            flushed_position: CachePadded::new(AtomicU64::new(0)),
            allocator: SegmentAllocator::start(dir.to_path_buf(), segment_size, allocator, stats.clone()),
            stats,
            release_cold_segments: true,
            write_back_behind_head: true,
            append_mode: AppendMode::Mapping,
            zero_fill_ahead: false,
            #[cfg(test)]
            fail_next_staged_write: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn segment_size(&self) -> u64 {
        self.segment_size
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// End of the last complete record: everything below is readable.
    pub fn write_position(&self) -> u64 {
        self.write_position.load(Ordering::Acquire)
    }

    /// End of the last appended record, staged ones included (`AppendMode::DeferredPwrite`).
    pub fn appended_position(&self) -> u64 {
        self.appended_position.load(Ordering::Acquire)
    }

    pub fn flushed_position(&self) -> u64 {
        self.flushed_position.load(Ordering::Acquire)
    }

    /// First readable physical offset (start of the oldest segment still present).
    pub fn min_offset(&self) -> u64 {
        let segments = self.segments.read().expect("segment list lock");
        segments.first().map_or_else(|| self.write_position(), |s| s.file_from_offset())
    }

    /// See `StoreConfig::release_cold_segments`.
    pub fn set_release_cold_segments(&mut self, release: bool) {
        self.release_cold_segments = release;
    }

    /// See `StoreConfig::append_by_pwrite` and `AppendMode`.
    pub fn set_append_mode(&mut self, mode: AppendMode) {
        self.append_mode = mode;
    }

    /// See `StoreConfig::zero_fill_ahead` (appends by pwrite only).
    pub fn set_zero_fill_ahead(&mut self, zero_fill: bool) {
        self.zero_fill_ahead = zero_fill;
    }

    fn by_pwrite(&self) -> bool {
        self.append_mode != AppendMode::Mapping
    }

    /// See `StoreConfig::write_back_behind_head`.
    pub fn set_write_back_behind_head(&mut self, write_back: bool) {
        self.write_back_behind_head = write_back;
    }

    pub fn set_store_host(&self, host: SocketAddr) {
        self.write.lock().expect("write lock").store_host = record::canonical_host(host);
    }

    pub fn store_host(&self) -> SocketAddr {
        self.write.lock().expect("write lock").store_host
    }

    pub fn segments(&self) -> Vec<Arc<Segment>> {
        self.segments.read().expect("segment list lock").clone()
    }

    /// The segment containing `offset`, if it is still present.
    pub fn segment_for(&self, offset: u64) -> Option<Arc<Segment>> {
        let segments = self.segments.read().expect("segment list lock");
        let first = segments.first()?.file_from_offset();
        if offset < first {
            return None;
        }
        let index = usize::try_from((offset - first) / self.segment_size).ok()?;
        segments.get(index).cloned()
    }

    /// Seed the queue-offset table (from the ConsumeQueues' max offsets) after recovery.
    pub fn set_queue_offsets(&self, table: QueueOffsetTable) {
        self.write.lock().expect("write lock").queue_offsets = table;
    }

    /// Forget a topic's next queue offsets (the topic was deleted; a new one starts at 0).
    pub fn remove_topic_offsets(&self, topic: &str) {
        self.write.lock().expect("write lock").queue_offsets.remove_topic(topic);
    }

    /// Publish the recovered end: the write and flushed positions start here.
    pub(crate) fn set_recovered_end(&self, end: u64) {
        self.write_position.store(end, Ordering::Release);
        self.appended_position.store(end, Ordering::Release);
        self.flushed_position.store(end, Ordering::Release);
        let mut write = self.write.lock().expect("write lock");
        write.received_position = end;
        write.current = self.segment_for(end).filter(|s| end < s.file_from_offset() + self.segment_size);
        if let Some(segment) = write.current.clone() {
            segment.advise_sequential();
            self.prepare_next(segment.file_from_offset() + self.segment_size);
        } else {
            // No segment holds the end yet (a new store, or the end is a segment boundary):
            // have it created now, so the first append does not wait for the file system.
            self.prepare_next(end / self.segment_size * self.segment_size);
        }
    }

    /// Append messages as one unit: either all are written and published or none is.
    pub fn append(&self, messages: &[MessageInput<'_>], store_timestamp: i64) -> Result<Vec<AppendResult>> {
        let mut results = Vec::with_capacity(messages.len());
        self.append_with(messages, store_timestamp, |result| results.push(result))?;
        Ok(results)
    }

    /// `append` of one message without the result vector (the per-send hot path: two heap
    /// allocations were a tenth of a small append).
    pub fn append_one(&self, message: &MessageInput<'_>, store_timestamp: i64) -> Result<AppendResult> {
        let mut appended = None;
        self.append_with(std::slice::from_ref(message), store_timestamp, |result| appended = Some(result))?;
        appended.ok_or_else(|| StoreError::InvalidArgument("nothing was appended".into()))
    }

    /// The append itself; `on_result` sees each message's result in order as it is placed
    /// (callers keep them only when the whole unit is written and published: `Ok`).
    fn append_with(
        &self,
        messages: &[MessageInput<'_>],
        store_timestamp: i64,
        mut on_result: impl FnMut(AppendResult),
    ) -> Result<()> {
        for message in messages {
            record::validate(message, self.max_message_size)?;
        }
        let deferred = self.append_mode == AppendMode::DeferredPwrite;
        if deferred && self.appended_position().saturating_sub(self.write_position()) >= DEFERRED_COMMIT_BYTES as u64 {
            // Before taking the write lock: `commit` takes it itself (see its lock order).
            self.commit()?;
        }
        let mut guard = self.write.lock().expect("write lock");
        let write = &mut *guard;
        let start = self.appended_position.load(Ordering::Relaxed);
        if write.received_position != start {
            return Err(StoreError::InvalidArgument(
                "a replicated record is partly received: local appends would interleave with it".into(),
            ));
        }
        // Staged bytes of earlier calls stay (DeferredPwrite); a failed call removes its own.
        let staged_before = write.staged.bytes.len();
        let mut position = start;
        // A single message takes its queue offset up front (one lookup of its queue instead of
        // a read before and a write after the encoding); a batch's go in a vector.
        let single_queue_offset = match messages {
            [only] if only.takes_queue_offset() => Some(write.queue_offsets.take(only.topic, only.queue_id)),
            _ => None,
        };
        let mut next_offsets: Vec<(usize, i64)> = Vec::new();
        let placed = self.place_records(write, messages, store_timestamp, &mut position, single_queue_offset, &mut next_offsets, &mut on_result);
        let written = match placed {
            Ok(()) if self.append_mode == AppendMode::Pwrite => self.write_staged(write.current.as_ref(), &mut write.staged),
            other => other,
        };
        if let Err(error) = written {
            write.staged.bytes.truncate(staged_before);
            if let (Some(taken), [only]) = (single_queue_offset, messages) {
                write.queue_offsets.give_back(only.topic, only.queue_id, taken);
            }
            if write.current.as_ref().is_some_and(|segment| segment.file_from_offset() > start) {
                // Rolled over for records that are not kept: the next append starts at `start`.
                write.current = self.segment_for(start);
            }
            return Err(error);
        }
        let mut pending = next_offsets.iter().peekable();
        while let Some(&(index, next)) = pending.next() {
            let message = &messages[index];
            // A batch is usually one queue: only its last message's next offset needs storing.
            if let Some(&&(later, _)) = pending.peek() {
                if messages[later].queue_id == message.queue_id && messages[later].topic == message.topic {
                    continue;
                }
            }
            write.queue_offsets.set(message.topic, message.queue_id, next);
        }
        write.received_position = position;
        self.appended_position.store(position, Ordering::Release);
        if !deferred {
            self.write_position.store(position, Ordering::Release);
        }
        self.prefault_ahead(write, start, position);
        self.stats.appended_messages.fetch_add(messages.len() as u64, Ordering::Relaxed);
        self.stats.appended_bytes.fetch_add(position - start, Ordering::Relaxed);
        Ok(())
    }

    /// Encode `messages` from `*position` on (into the mapping or the stage), rolling over
    /// segments as needed; nothing is published.
    #[allow(clippy::too_many_arguments)]
    fn place_records(
        &self,
        write: &mut WriteState,
        messages: &[MessageInput<'_>],
        store_timestamp: i64,
        position: &mut u64,
        single_queue_offset: Option<i64>,
        next_offsets: &mut Vec<(usize, i64)>,
        on_result: &mut impl FnMut(AppendResult),
    ) -> Result<()> {
        let store_host = write.store_host;
        for (index, message) in messages.iter().enumerate() {
            let size = record_size(message, &store_host);
            self.segment_with_room(write, position, size)?;
            let queue_offset = match single_queue_offset {
                Some(taken) => taken,
                None if message.takes_queue_offset() => self.next_queue_offset(write, next_offsets, messages, index),
                None => 0,
            };
            let placement = Placement { queue_offset, physical_offset: *position as i64, store_timestamp };
            if self.by_pwrite() {
                encode_record(write.staged.slot(*position, size), message, placement, &store_host);
            } else {
                // Borrowed, not cloned: an Arc clone per append is two atomic read-modify-writes
                // on a count readers on other threads also touch.
                let segment = write.current.as_ref().expect("segment_with_room leaves a current segment");
                let pos_in_segment = (*position - segment.file_from_offset()) as usize;
                // SAFETY: we hold the write lock and `position >= write_position`, so no reader
                // can see these bytes until they are published.
                let slot = unsafe { segment.slice_mut(pos_in_segment, size) };
                encode_record(slot, message, placement, &store_host);
            }
            if single_queue_offset.is_none() && message.takes_queue_offset() {
                next_offsets.push((index, queue_offset + 1));
            }
            on_result(AppendResult { physical_offset: *position, size: size as u32, queue_offset, store_timestamp, store_host });
            *position += size as u64;
        }
        Ok(())
    }

    /// The queue offset for `messages[index]`, counting earlier messages of this batch.
    fn next_queue_offset(
        &self,
        write: &WriteState,
        pending: &[(usize, i64)],
        messages: &[MessageInput<'_>],
        index: usize,
    ) -> i64 {
        let message = &messages[index];
        let earlier = pending.iter().rev().find(|(other, _)| {
            messages[*other].topic == message.topic && messages[*other].queue_id == message.queue_id
        });
        match earlier {
            Some((_, next)) => *next,
            None => write.queue_offsets.next(message.topic, message.queue_id),
        }
    }

    /// The segment where a record of `size` bytes goes at `*position`, rolling over (with a
    /// BLANK filler) when it does not fit. `*position` moves to the record's start.
    fn segment_with_room(&self, write: &mut WriteState, position: &mut u64, size: usize) -> Result<()> {
        let in_current = matches!(&write.current, Some(segment) if *position < segment.file_from_offset() + self.segment_size);
        debug_assert!(write.current.as_ref().is_none_or(|segment| *position >= segment.file_from_offset()));
        if !in_current {
            self.activate_segment(write, *position)?;
        }
        let segment = write.current.as_ref().expect("activate_segment sets the current segment");
        let used = *position - segment.file_from_offset();
        let room = self.segment_size - used;
        if (size + END_FILE_MIN_BLANK_LENGTH) as u64 <= room {
            return Ok(());
        }
        debug_assert!(room >= END_FILE_MIN_BLANK_LENGTH as u64, "a segment always keeps room for a BLANK");
        let mut blank = [0u8; END_FILE_MIN_BLANK_LENGTH];
        blank[..4].copy_from_slice(&(room as i32).to_be_bytes());
        blank[4..8].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
        match self.append_mode {
            AppendMode::Pwrite => {
                write.staged.slot(*position, blank.len()).copy_from_slice(&blank);
                let current = write.current.as_ref();
                self.write_staged(current, &mut write.staged)?;
            }
            // The stage runs on into the next segment (a commit writes each part in its file),
            // so it holds the BLANK's whole extent: the header, then zeros to the segment end.
            AppendMode::DeferredPwrite => write.staged.slot(*position, room as usize)[..blank.len()].copy_from_slice(&blank),
            AppendMode::Mapping => {
                // SAFETY: single writer under the write lock, at or above the published position.
                unsafe { segment.slice_mut(used as usize, END_FILE_MIN_BLANK_LENGTH) }.copy_from_slice(&blank);
            }
        }
        *position = segment.file_from_offset() + self.segment_size;
        self.activate_segment(write, *position)?;
        if (size + END_FILE_MIN_BLANK_LENGTH) as u64 > self.segment_size {
            return Err(StoreError::MessageTooLarge { size, max: self.segment_size as usize });
        }
        Ok(())
    }

    /// msync `[flushed_position, target)`; returns the new flushed position.
    pub fn flush_to(&self, target: u64) -> Result<u64> {
        let from = self.flushed_position();
        if target <= from {
            return Ok(from);
        }
        let started = std::time::Instant::now();
        let mut offset = from;
        while offset < target {
            let Some(segment) = self.segment_for(offset) else {
                // Deleted by retention: nothing left to make durable there.
                offset = (offset / self.segment_size + 1) * self.segment_size;
                continue;
            };
            let base = segment.file_from_offset();
            let end = target.min(base + self.segment_size);
            segment.unmap_written((end - base) as usize);
            segment.flush((offset - base) as usize, (end - base) as usize)?;
            offset = end;
        }
        self.flushed_position.store(target, Ordering::Release);
        self.stats.record_fsync(started.elapsed());
        Ok(target)
    }

    /// Read the record at `offset` (below the write position) and hand it to `visit`.
    pub fn with_record<T>(&self, offset: u64, visit: impl FnOnce(&record::RecordView<'_>) -> T) -> Result<T> {
        let (segment, pos, available) = self.readable_at(offset)?;
        let bytes = segment.slice(pos, available);
        match decode_record(bytes, false) {
            Ok(Decoded::Record(view)) => Ok(visit(&view)),
            Ok(_) => Err(StoreError::Corrupt { offset, reason: "no record starts here".into() }),
            Err(error) => Err(StoreError::Corrupt { offset, reason: error.to_string() }),
        }
    }

    /// The segment holding `offset`, the position inside it, and how many published bytes
    /// follow in that segment.
    pub fn readable_at(&self, offset: u64) -> Result<(Arc<Segment>, usize, usize)> {
        let mut write_position = self.write_position();
        if offset >= write_position && offset < self.appended_position() {
            // A staged record (DeferredPwrite): whoever asks for it gets it written first.
            write_position = self.commit()?;
        }
        let out_of_range = || StoreError::OffsetOutOfRange { offset, min: self.min_offset(), max: write_position };
        if offset >= write_position {
            return Err(out_of_range());
        }
        let segment = self.segment_for(offset).ok_or_else(out_of_range)?;
        let base = segment.file_from_offset();
        let pos = (offset - base) as usize;
        let end = write_position.min(base + self.segment_size);
        Ok((segment, pos, (end - offset) as usize))
    }

    /// Remove segments that end at or below `offset` (retention); never the current one.
    /// Returns the removed segments (their files are already unlinked).
    pub fn remove_segments_before(&self, offset: u64) -> Result<Vec<Arc<Segment>>> {
        let write_position = self.write_position();
        let mut segments = self.segments.write().expect("segment list lock");
        let mut removed = Vec::new();
        while let Some(first) = segments.first() {
            let end = first.file_from_offset() + self.segment_size;
            if end > offset || end > write_position {
                break;
            }
            removed.push(segments.remove(0));
        }
        drop(segments);
        for segment in &removed {
            std::fs::remove_file(segment.path()).context(|| format!("deleting {}", segment.path().display()))?;
        }
        Ok(removed)
    }
}

fn load_segments(dir: &Path, segment_size: u64) -> Result<Vec<Arc<Segment>>> {
    let mut offsets = Vec::new();
    for entry in std::fs::read_dir(dir).context(|| format!("listing {}", dir.display()))? {
        let entry = entry.context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".tmp") {
            // An allocation interrupted by a crash: never a segment.
            std::fs::remove_file(entry.path()).context(|| format!("removing {name}"))?;
            continue;
        }
        if name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()) {
            let offset: u64 = name.parse().map_err(|_| StoreError::Corrupt { offset: 0, reason: format!("bad segment name {name}") })?;
            offsets.push(offset);
        }
    }
    offsets.sort_unstable();
    let mut segments = Vec::with_capacity(offsets.len());
    for (index, offset) in offsets.iter().enumerate() {
        if offset % segment_size != 0 {
            return Err(StoreError::Corrupt {
                offset: *offset,
                reason: format!("segment {offset} is not aligned to mappedFileSizeCommitLog {segment_size}: was the store written with another segment size?"),
            });
        }
        if index > 0 && offsets[index - 1] + segment_size != *offset {
            return Err(StoreError::Corrupt {
                offset: *offset,
                reason: format!("segment {} is missing before {}", segment_file_name(offsets[index - 1] + segment_size), segment_file_name(*offset)),
            });
        }
        segments.push(Arc::new(Segment::open(dir.join(segment_file_name(*offset)), *offset, segment_size)?));
    }
    Ok(segments)
}

#[path = "commit_log_staged.rs"]
mod staged;
use staged::{Staged, DEFERRED_COMMIT_BYTES};

#[path = "commit_log_replication.rs"]
mod replication;

#[path = "commit_log_segments.rs"]
mod segments;

#[path = "commit_log_recovery.rs"]
mod recovery;

#[cfg(test)]
#[path = "commit_log_tests.rs"]
mod tests;
