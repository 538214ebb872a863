//! ConsumeQueue: the per-(topic, queueId) logical index into the CommitLog.
//!
//! # On-disk format
//!
//! `<root>/<topic>/<queueId>/<name>` where `<name>` is the 20-digit zero-padded *byte* offset
//! of the file's first entry (logical offset × 20, as RocketMQ names them). Each file holds up
//! to `entries_per_file` (default 300,000) fixed 20-byte entries, big-endian, no header, no
//! checksum:
//!
//! | bytes | field               | type   |
//! |-------|---------------------|--------|
//! | 0..8  | `commit_log_offset` | i64 BE |
//! | 8..12 | `size`              | i32 BE |
//! | 12..20| `tags_code`         | i64 BE |
//!
//! Logical offset `n` lives in file `n - n % entries_per_file` at byte `(n % entries_per_file)
//! × 20`. A `size` of 0 marks an absent entry (never written, or a zero tail after a crash).
//!
//! # Why positional I/O and not one mmap per file
//!
//! 10,000 topics × 8 queues are 80,000 files at least: one mapping each would eat most of
//! `vm.max_map_count` (65,530) and one descriptor each would exceed the open-file limit. The
//! entries are tiny (20 bytes), so the page cache does all the caching a map would; reads and
//! writes are `pread`/`pwrite` through a bounded LRU of open handles
//! ([`ConsumeQueueConfig::open_files_max`]). A truncated or deleted file then yields an error
//! or a short read, never a SIGBUS.
//!
//! # Writes and concurrency
//!
//! One writer (the dispatcher) calls [`ConsumeQueueStore::put`], which only buffers, then
//! [`ConsumeQueueStore::commit_batch`], which issues one `pwrite` per contiguous run per file and
//! only then publishes the queue's new max offset with a `Release` store. Readers load it with
//! `Acquire`, so they never see an offset whose bytes are not in the file. Structural changes
//! (`put`, `commit_batch`, `truncate_dirty`, `delete_expired`, `delete_topic`) serialise on one
//! writer mutex that readers never take.
//!
//! An entry's position is its queue offset, so re-dispatching a CommitLog range rewrites the
//! same bytes: `put` below the queue's max offset is accepted as a rewrite (this also heals
//! torn pages below max after a crash), entries below the min offset are ignored (retention
//! already deleted them), and an offset past the next expected one is a
//! [`ConsumeQueueError::QueueOffsetGap`], except on an empty queue (min == max), which then
//! restarts at that offset: its files are deleted and min = max = the new offset. That is how
//! a queue whose prefix was deleted, or whose directory was lost, is rebuilt from the CommitLog.
//!
//! # Crash story
//!
//! Nothing is durable until [`ConsumeQueueStore::flush`] (fdatasync of every file written since
//! the last flush, fsync of directories that gained entries). On open, each queue's bounds are
//! rebuilt from file names and contents (see `load.rs`): a partial trailing entry or zero tail
//! is cut off and files after the end are deleted. (An empty queue whose kept file holds no
//! entry reopens at that file's first offset; the dispatcher's next put restarts it.) Recovery
//! then calls
//! [`ConsumeQueueStore::truncate_dirty`] with the recovered CommitLog end (drops entries that
//! point past it), [`ConsumeQueueStore::delete_expired`] with the CommitLog start (fixes min),
//! and re-dispatches from the last CommitLog offset whose ConsumeQueue writes were flushed.

mod entry;
mod handle_cache;
mod load;
mod read;
mod retention;
mod write;

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

pub use entry::CqEntry;
use entry::Geometry;
use handle_cache::{FileKey, HandleCache};
use write::WriterState;

/// Size of one ConsumeQueue entry on disk.
pub const CQ_ENTRY_SIZE: usize = 20;
/// Longest accepted topic name in bytes (it is a directory name: NAME_MAX).
pub const TOPIC_NAME_BYTES_MAX: usize = 255;
const FILE_NAME_DIGITS: usize = 20;
/// Entries read per step by [`ConsumeQueueStore::read_filtered`].
const FILTER_CHUNK_ENTRIES: i64 = 4096;

/// Tuning of a [`ConsumeQueueStore`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumeQueueConfig {
    /// Entries per file (RocketMQ: 300,000, i.e. 6,000,000-byte files). Must match the files
    /// already on disk.
    pub entries_per_file: u32,
    /// Bound of the LRU cache of open file handles.
    pub open_files_max: usize,
    /// Bound of the entries `put` may buffer before `commit_batch` must be called.
    pub pending_entries_max: usize,
}

impl Default for ConsumeQueueConfig {
    fn default() -> Self {
        Self {
            entries_per_file: 300_000,
            open_files_max: 1024,
            pending_entries_max: 1 << 20,
        }
    }
}

/// Errors of the ConsumeQueue store. [`ConsumeQueueError::code`] gives a stable string code.
#[derive(Debug, thiserror::Error)]
pub enum ConsumeQueueError {
    #[error("consume queue I/O error on {path:?}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("corrupt consume queue file {path:?}: {reason}")]
    CorruptFile { path: PathBuf, reason: String },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("{topic}/{queue_id}: queue offset {queue_offset} leaves a gap, next is {expected}")]
    QueueOffsetGap {
        topic: String,
        queue_id: i32,
        queue_offset: i64,
        expected: i64,
    },
    #[error("{topic}/{queue_id}: offset {queue_offset} is below the min offset {min_offset}")]
    OffsetTooSmall {
        topic: String,
        queue_id: i32,
        queue_offset: i64,
        min_offset: i64,
    },
    #[error("{0} entries are buffered; call commit_batch before putting more")]
    BatchFull(usize),
}

impl ConsumeQueueError {
    /// Stable machine-readable code of the error kind.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "IO",
            Self::CorruptFile { .. } => "CORRUPT_FILE",
            Self::InvalidArgument(_) => "INVALID_ARGUMENT",
            Self::QueueOffsetGap { .. } => "QUEUE_OFFSET_GAP",
            Self::OffsetTooSmall { .. } => "OFFSET_TOO_SMALL",
            Self::BatchFull(_) => "BATCH_FULL",
        }
    }
}

type Result<T, E = ConsumeQueueError> = std::result::Result<T, E>;

/// A queue whose max offset grew in a [`ConsumeQueueStore::commit_batch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueGrowth {
    pub topic: String,
    pub queue_id: i32,
    pub max_offset: i64,
}

/// An entry with its queue offset, as returned by [`ConsumeQueueStore::read_filtered`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetEntry {
    pub queue_offset: i64,
    pub entry: CqEntry,
}

/// Result of [`ConsumeQueueStore::read_filtered`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilteredRead {
    /// Entries whose tags code matched, in queue order.
    pub entries: Vec<OffsetEntry>,
    /// Offset to continue scanning from: one past the last entry scanned.
    pub next_offset: i64,
}

/// Which side [`ConsumeQueueStore::search_offset_by_time`] resolves to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundaryType {
    /// The first entry whose store timestamp is `>=` the target.
    Lower,
    /// The last entry whose store timestamp is `<=` the target.
    Upper,
}

/// Shared state of one queue. `min_offset`/`max_offset` are published atomics.
struct QueueState {
    uid: u64,
    topic: String,
    queue_id: i32,
    dir: PathBuf,
    min_offset: AtomicI64,
    /// One past the last readable entry; stored with `Release` after the bytes are written.
    max_offset: AtomicI64,
    /// Bumped whenever files of the queue are deleted (see `FileKey`).
    epoch: AtomicU64,
    /// Start offset of the queue's first file on disk; changed only under the writer mutex.
    /// It can be below the file of `min_offset`: the last file is kept even when all its
    /// entries expired, and becomes deletable once the queue has moved on to later files.
    first_file_start: AtomicI64,
}

impl QueueState {
    fn bounds(&self) -> (i64, i64) {
        let max = self.max_offset.load(Ordering::Acquire);
        (self.min_offset.load(Ordering::Acquire), max)
    }

    fn file_key(&self, file_start: i64) -> FileKey {
        FileKey {
            queue_uid: self.uid,
            epoch: self.epoch.load(Ordering::Acquire),
            file_start,
        }
    }

    fn too_small(&self, queue_offset: i64) -> ConsumeQueueError {
        ConsumeQueueError::OffsetTooSmall {
            topic: self.topic.clone(),
            queue_id: self.queue_id,
            queue_offset,
            min_offset: self.min_offset.load(Ordering::Acquire),
        }
    }
}

type TopicMap = HashMap<String, HashMap<i32, Arc<QueueState>>>;

/// All ConsumeQueues under one root directory. `Send + Sync`: share it in an `Arc`, read from
/// any thread, write from one dispatcher thread.
pub struct ConsumeQueueStore {
    root: PathBuf,
    config: ConsumeQueueConfig,
    geometry: Geometry,
    queues: RwLock<TopicMap>,
    handles: HandleCache,
    writer: Mutex<WriterState>,
    next_queue_uid: AtomicU64,
}

impl ConsumeQueueStore {
    /// Opens (creating if needed) the store at `root`, rebuilding every queue's min and max
    /// offsets from its files and cutting partial or zeroed tails.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad config, `CorruptFile` for misnamed or non-contiguous files,
    /// `Io` for file-system errors.
    pub fn open(root: impl AsRef<Path>, config: ConsumeQueueConfig) -> Result<Self> {
        validate_config(&config)?;
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root).map_err(io_error(&root))?;
        let geometry = Geometry {
            entries_per_file: i64::from(config.entries_per_file),
        };
        let store = Self {
            handles: HandleCache::new(config.open_files_max),
            root,
            config,
            geometry,
            queues: RwLock::new(HashMap::new()),
            writer: Mutex::new(WriterState::default()),
            next_queue_uid: AtomicU64::new(1),
        };
        store.load_all()?;
        Ok(store)
    }

    fn load_all(&self) -> Result<()> {
        for topic_entry in fs::read_dir(&self.root).map_err(io_error(&self.root))? {
            let topic_entry = topic_entry.map_err(io_error(&self.root))?;
            let topic_dir = topic_entry.path();
            let Some(topic) = topic_entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !topic_dir.is_dir() || validate_topic(&topic).is_err() {
                continue;
            }
            for queue_entry in fs::read_dir(&topic_dir).map_err(io_error(&topic_dir))? {
                let queue_entry = queue_entry.map_err(io_error(&topic_dir))?;
                let queue_dir = queue_entry.path();
                let queue_id = queue_entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse().ok());
                let Some(queue_id) = queue_id.filter(|id: &i32| *id >= 0) else {
                    continue;
                };
                if !queue_dir.is_dir() {
                    continue;
                }
                let bounds = load::load_queue(&queue_dir, self.geometry)?;
                let queue = self.insert_queue(&topic, queue_id, bounds.min_offset)?;
                queue.max_offset.store(bounds.max_offset, Ordering::Release);
                queue
                    .first_file_start
                    .store(bounds.first_file_start, Ordering::Relaxed);
                self.lock_writer().mark_dir_ready(queue.uid);
            }
        }
        Ok(())
    }

    /// Buffers `entry` at `queue_offset` of `topic`/`queue_id`; it becomes readable after the
    /// next [`Self::commit_batch`]. See the module doc for rewrites, expired offsets and gaps.
    ///
    /// # Errors
    /// `InvalidArgument` (bad topic, queue id, offset or entry), `QueueOffsetGap`,
    /// `BatchFull`, or `Io` when restarting an empty queue deletes its files.
    pub fn put(&self, topic: &str, queue_id: i32, queue_offset: i64, entry: CqEntry) -> Result<()> {
        if queue_offset < 0 || !entry.is_present() || entry.commit_log_offset < 0 {
            let reason = format!("offset {queue_offset}, entry {entry:?}");
            return Err(ConsumeQueueError::InvalidArgument(reason));
        }
        let queue = self.queue_or_insert(topic, queue_id)?;
        let mut writer = self.lock_writer();
        if writer.pending_entries() >= self.config.pending_entries_max {
            return Err(ConsumeQueueError::BatchFull(writer.pending_entries()));
        }
        self.stage(&mut writer, &queue, queue_offset, entry)
    }

    /// Writes every buffered run (one `pwrite` per contiguous run per file), then publishes the
    /// new max offsets. Returns the queues whose max offset grew.
    ///
    /// # Errors
    /// `Io` if a write fails. All buffered entries are then discarded (queues written before
    /// the failure stay published); the dispatcher must re-dispatch from the CommitLog offset
    /// of its last successful commit, which rewrites idempotently.
    pub fn commit_batch(&self) -> Result<Vec<QueueGrowth>> {
        let mut writer = self.lock_writer();
        let mut grown = Vec::new();
        for pending in writer.take_pending() {
            let queue = pending.queue();
            let new_max = self.write_runs(&mut writer, &pending)?;
            if new_max > queue.max_offset.load(Ordering::Acquire) {
                queue.max_offset.store(new_max, Ordering::Release);
                let (topic, queue_id) = (queue.topic.clone(), queue.queue_id);
                grown.push(QueueGrowth {
                    topic,
                    queue_id,
                    max_offset: new_max,
                });
            }
        }
        Ok(grown)
    }

    /// One past the last readable entry (0 for an unknown queue).
    #[must_use]
    pub fn max_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.queue(topic, queue_id)
            .map_or(0, |q| q.max_offset.load(Ordering::Acquire))
    }

    /// The first readable entry (0 for an unknown queue; equal to max when the queue is empty).
    #[must_use]
    pub fn min_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.queue(topic, queue_id)
            .map_or(0, |q| q.min_offset.load(Ordering::Acquire))
    }

    /// Every known queue, sorted.
    #[must_use]
    pub fn queues(&self) -> Vec<(String, i32)> {
        let queues = read_lock(&self.queues);
        let mut list: Vec<(String, i32)> = queues
            .iter()
            .flat_map(|(topic, ids)| ids.keys().map(move |id| (topic.clone(), *id)))
            .collect();
        list.sort();
        list
    }

    /// Makes every write so far durable: fdatasync of each file written since the last flush
    /// and fsync of each directory that gained or lost entries.
    ///
    /// # Errors
    /// `Io` if a sync fails; what was not synced is retried by the next flush.
    pub fn flush(&self) -> Result<()> {
        let dirty = self.lock_writer().take_dirty();
        self.sync_dirty(dirty)
    }

    /// Deletes the topic's queues, files and buffered entries. Returns whether it existed.
    ///
    /// # Errors
    /// `Io` if the directory cannot be removed.
    pub fn delete_topic(&self, topic: &str) -> Result<bool> {
        let mut writer = self.lock_writer();
        let removed = write_lock(&self.queues).remove(topic);
        for queue in removed.iter().flat_map(HashMap::values) {
            queue.epoch.fetch_add(1, Ordering::AcqRel);
            self.handles.remove_queue(queue.uid);
            writer.forget_queue(queue.uid);
        }
        let dir = self.root.join(topic);
        let existed = match fs::remove_dir_all(&dir) {
            Ok(()) => true,
            Err(error) if error.kind() == io::ErrorKind::NotFound => false,
            Err(error) => return Err(io_error(&dir)(error)),
        };
        if existed {
            writer.mark_dir_dirty(self.root.clone());
        }
        Ok(existed || removed.is_some())
    }

    /// Whether a ConsumeQueue exists for this topic and queue (RocketMQ distinguishes a missing
    /// queue, NO_MATCHED_LOGIC_QUEUE, from an empty one).
    #[must_use]
    pub fn contains_queue(&self, topic: &str, queue_id: i32) -> bool {
        self.queue(topic, queue_id).is_some()
    }

    /// Number of file handles currently cached (bounded by `open_files_max`).
    #[must_use]
    pub fn open_file_count(&self) -> usize {
        self.handles.len()
    }

    fn queue(&self, topic: &str, queue_id: i32) -> Option<Arc<QueueState>> {
        read_lock(&self.queues).get(topic)?.get(&queue_id).cloned()
    }

    fn queue_or_insert(&self, topic: &str, queue_id: i32) -> Result<Arc<QueueState>> {
        match self.queue(topic, queue_id) {
            Some(queue) => Ok(queue),
            None => self.insert_queue(topic, queue_id, 0),
        }
    }

    fn insert_queue(&self, topic: &str, queue_id: i32, offset: i64) -> Result<Arc<QueueState>> {
        validate_topic(topic)?;
        if queue_id < 0 {
            let reason = format!("negative queue id {queue_id}");
            return Err(ConsumeQueueError::InvalidArgument(reason));
        }
        let mut queues = write_lock(&self.queues);
        let ids = queues.entry(topic.to_string()).or_default();
        let queue = ids.entry(queue_id).or_insert_with(|| {
            Arc::new(QueueState {
                uid: self.next_queue_uid.fetch_add(1, Ordering::Relaxed),
                topic: topic.to_string(),
                queue_id,
                dir: self.root.join(topic).join(queue_id.to_string()),
                min_offset: AtomicI64::new(offset),
                max_offset: AtomicI64::new(offset),
                epoch: AtomicU64::new(0),
                first_file_start: AtomicI64::new(offset),
            })
        });
        Ok(Arc::clone(queue))
    }

    /// Returns the (cached) handle of a queue file, its path, and whether it was just created.
    fn handle(
        &self,
        queue: &QueueState,
        file_start: i64,
        create: bool,
    ) -> Result<(Arc<File>, PathBuf, bool)> {
        let key = queue.file_key(file_start);
        let path = queue.dir.join(self.geometry.file_name(file_start));
        if let Some(file) = self.handles.get(&key) {
            return Ok((file, path, false));
        }
        let (file, created) = open_file(&path, create).map_err(io_error(&path))?;
        Ok((self.handles.insert(key, file), path, created))
    }

    fn lock_writer(&self) -> MutexGuard<'_, WriterState> {
        // Writer state stays consistent across a panic: every mutation is a single insert or
        // take, and a lost buffer is recovered by re-dispatch.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn all_queues(&self) -> Vec<Arc<QueueState>> {
        read_lock(&self.queues)
            .values()
            .flat_map(|ids| ids.values().cloned())
            .collect()
    }
}

impl std::fmt::Debug for ConsumeQueueStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumeQueueStore")
            .field("root", &self.root)
            .field("config", &self.config)
            .field("open_files", &self.handles.len())
            .finish_non_exhaustive()
    }
}

fn validate_config(config: &ConsumeQueueConfig) -> Result<()> {
    let valid = config.entries_per_file > 0
        && config.entries_per_file <= 50_000_000
        && config.open_files_max > 0
        && config.pending_entries_max > 0;
    if valid {
        Ok(())
    } else {
        Err(ConsumeQueueError::InvalidArgument(format!(
            "bad config {config:?}"
        )))
    }
}

fn validate_topic(topic: &str) -> Result<()> {
    let valid = !topic.is_empty()
        && topic.len() <= TOPIC_NAME_BYTES_MAX
        && topic != "."
        && topic != ".."
        && !topic.contains(['/', '\0']);
    if valid {
        Ok(())
    } else {
        Err(ConsumeQueueError::InvalidArgument(format!(
            "bad topic name {topic:?}"
        )))
    }
}

/// Binary search over `[low, high)`: the first offset for which `is_before` is false.
fn partition_point(
    mut low: i64,
    mut high: i64,
    mut is_before: impl FnMut(i64) -> Result<bool>,
) -> Result<i64> {
    while low < high {
        let middle = low + (high - low) / 2;
        if is_before(middle)? {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    Ok(low)
}

fn open_file(path: &Path, create: bool) -> io::Result<(File, bool)> {
    if create {
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(file) => return Ok((file, true)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
    }
    Ok((OpenOptions::new().read(true).write(true).open(path)?, false))
}

/// `pread` until `buffer` is full or the end of the file; returns the bytes read.
fn read_full_at(file: &File, buffer: &mut [u8], position: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buffer.len() {
        match file.read_at(&mut buffer[done..], position + done as u64) {
            Ok(0) => break,
            Ok(read) => done += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(done)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ConsumeQueueError + '_ {
    move |source| ConsumeQueueError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn corrupt(path: &Path, reason: String) -> ConsumeQueueError {
    ConsumeQueueError::CorruptFile {
        path: path.to_path_buf(),
        reason,
    }
}

fn read_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // The queue map is only ever changed by single inserts/removes; it is valid after a panic.
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
