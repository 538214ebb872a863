//! IndexFile: RocketMQ's on-disk hash index from message keys to CommitLog offsets.
//!
//! # On-disk format
//!
//! Files live directly under `<root>` (the store's `index/` directory), named
//! `yyyyMMddHHmmssSSS` in UTC after the store timestamp of the first key they hold (bumped by
//! 1 ms when needed so names strictly increase; see `name.rs`). Each file has a fixed size
//! `40 + max_hash_slots × 4 + max_index_entries × 20` bytes (420,000,040 with the defaults),
//! all big-endian, no checksum:
//!
//! * header, 40 bytes: beginTimestamp i64, endTimestamp i64, beginPhyOffset i64,
//!   endPhyOffset i64, hashSlotCount i32 (slots in use), indexCount i32;
//! * slots, `max_hash_slots` × i32: number of the newest entry whose key hash maps to the
//!   slot, 0 = empty;
//! * entries, `max_index_entries` × 20 bytes: keyHash i32, phyOffset i64, timeDiff i32,
//!   prevIndex i32.
//!
//! `keyHash` is `|String.hashCode(key)|` (`i32::MIN` → 0, see [`crate::java_hash`]), the slot
//! is `keyHash % max_hash_slots`, `timeDiff` is whole seconds since the header's
//! beginTimestamp and `prevIndex` links to the previous entry of the same slot (0 ends the
//! chain). Entry 0 is never used: `indexCount` starts at 1 and is the next entry's number, so
//! a file holds `max_index_entries - 1` keys and rolls over to a new file when full.
//! Timestamps are epoch milliseconds; `beginPhyOffset`/`endPhyOffset` are the lowest and
//! highest CommitLog offsets indexed.
//!
//! Files are memory-mapped (there are few of them), fully allocated on creation. Queries walk
//! the newest file first, follow each chain and keep entries whose hash equals the key's and
//! whose second-truncated time may fall in the window. Different keys can share a hash: the
//! caller must read each returned record and check its keys (and exact store time).
//!
//! # Crash story
//!
//! `put_key` writes the entry, then the slot, into the map; the header is kept in memory.
//! `flush` msyncs the body, and only then writes the header and msyncs it: the header is
//! written last, so the header on disk never counts an entry whose bytes are not durable.
//! On open, every file not full on disk is checked: a slot pointing at or past the durable
//! `indexCount` was written after the last flush, and the slots are then rebuilt by replaying
//! the durable entries; entries past `indexCount` are ignored and later overwritten.
//!
//! Beyond that, every IndexFile can be rebuilt from the CommitLog. After a crash the caller
//! calls [`IndexService::truncate_after`] with the recovered CommitLog end: files referencing
//! records past it are deleted, and it returns where re-indexing must start. The dispatcher
//! re-indexes from the lowest of that offset and [`IndexService::last_indexed_phys_offset`];
//! `put_key` skips offsets below the last indexed one and queries drop duplicate offsets, so
//! overlapping re-dispatch is harmless. Dropping the service does not flush.

mod file;
mod name;

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::java_hash::index_key_hash;
use file::{Geometry, IndexFile};

/// Most physical offsets one query returns.
pub const QUERY_RESULTS_MAX: usize = 1024;

/// Sizing of IndexFiles. Must match the files already on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexConfig {
    /// Hash slots per file (RocketMQ `maxHashSlotNum`, 5,000,000).
    pub max_hash_slots: u32,
    /// Entries per file including the unused entry 0 (RocketMQ `maxIndexNum`, 20,000,000).
    pub max_index_entries: u32,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            max_hash_slots: 5_000_000,
            max_index_entries: 20_000_000,
        }
    }
}

/// Errors of the IndexFile service. [`IndexFileError::code`] gives a stable string code.
#[derive(Debug, thiserror::Error)]
pub enum IndexFileError {
    #[error("index file I/O error on {path:?}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("corrupt index file {path:?}: {reason}")]
    CorruptFile { path: PathBuf, reason: String },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl IndexFileError {
    /// Stable machine-readable code of the error kind.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "IO",
            Self::CorruptFile { .. } => "CORRUPT_FILE",
            Self::InvalidArgument(_) => "INVALID_ARGUMENT",
        }
    }
}

type Result<T, E = IndexFileError> = std::result::Result<T, E>;

/// All IndexFiles under one directory. `Send + Sync`: one dispatcher thread calls `put_key`,
/// any thread queries (queries share a read lock, inserts take the write lock briefly) and a
/// flush thread calls `flush`, which syncs outside the locks.
pub struct IndexService {
    root: PathBuf,
    geometry: Geometry,
    /// Oldest first; names and CommitLog offsets both increase along the vector.
    files: RwLock<Vec<IndexFile>>,
    /// Serialises flushes, which write file headers outside `files`' lock.
    flush_lock: Mutex<()>,
    /// A file was created or deleted since the last flush: the directory needs an fsync.
    dir_dirty: AtomicBool,
}

impl IndexService {
    /// Opens (creating if needed) the index directory, validating each file and repairing the
    /// slots of files written after their last flush.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad config, `CorruptFile` for a file of the wrong size or with
    /// an impossible header, `Io` for file-system errors.
    pub fn open(root: impl AsRef<Path>, config: IndexConfig) -> Result<Self> {
        let geometry = validate_config(config)?;
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root).map_err(io_error(&root))?;
        let mut named = Vec::new();
        for entry in fs::read_dir(&root).map_err(io_error(&root))? {
            let path = entry.map_err(io_error(&root))?.path();
            let name_ms = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(name::parse_name);
            if let Some(name_ms) = name_ms {
                named.push((name_ms, path)); // anything else (e.g. a backup) is left alone
            }
        }
        named.sort();
        let files = named
            .iter()
            .map(|(name_ms, path)| IndexFile::open(path, *name_ms, geometry))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            root,
            geometry,
            files: RwLock::new(files),
            flush_lock: Mutex::new(()),
            dir_dirty: AtomicBool::new(false),
        })
    }

    /// Indexes `key` (the caller builds `topic#UNIQ_KEY` and `topic#<each KEYS word>`) for the
    /// record at `phys_offset` stored at `store_ts_ms`. Returns `false` without indexing if
    /// `phys_offset` is below the last indexed offset (a re-dispatched record). Starts a new
    /// file when the newest one is full.
    ///
    /// # Errors
    /// `InvalidArgument` for a negative offset, `Io` if a new file cannot be created.
    pub fn put_key(&self, key: &str, phys_offset: i64, store_ts_ms: i64) -> Result<bool> {
        if phys_offset < 0 {
            let reason = format!("negative CommitLog offset {phys_offset}");
            return Err(IndexFileError::InvalidArgument(reason));
        }
        let mut files = write_lock(&self.files);
        if last_indexed(&files).is_some_and(|last| phys_offset < last) {
            return Ok(false);
        }
        let has_room = matches!(files.last(), Some(file) if !file.is_full());
        if !has_room {
            let file = self.create_file(files.last(), store_ts_ms)?;
            files.push(file);
        }
        if let Some(file) = files.last_mut() {
            file.put(index_key_hash(key), phys_offset, store_ts_ms);
        }
        Ok(true)
    }

    /// CommitLog offsets of records indexed under `key` with a store time that may lie in
    /// `[begin_ts_ms, end_ts_ms]`, newest first, without duplicates, at most
    /// `max_num.min(QUERY_RESULTS_MAX)`. Time is stored in whole seconds, so records up to
    /// 999 ms before `begin_ts_ms` can be returned; different keys can share a hash. The
    /// caller re-checks both against the record.
    #[must_use]
    pub fn query(&self, key: &str, max_num: usize, begin_ts_ms: i64, end_ts_ms: i64) -> Vec<i64> {
        let max = max_num.min(QUERY_RESULTS_MAX);
        let key_hash = index_key_hash(key);
        let mut found = Vec::new();
        for file in read_lock(&self.files).iter().rev() {
            if found.len() >= max {
                break;
            }
            file.lookup(key_hash, (begin_ts_ms, end_ts_ms), max, &mut found);
        }
        found
    }

    /// Makes every insert so far durable (body first, header last; see the module doc) and
    /// fsyncs the directory if files were created or deleted.
    ///
    /// # Errors
    /// `Io` if an msync or fsync fails; the next flush retries.
    pub fn flush(&self) -> Result<()> {
        let _serialised = self
            .flush_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let jobs: Vec<_> = read_lock(&self.files)
            .iter()
            .filter_map(IndexFile::flush_job)
            .collect();
        for job in &jobs {
            job.run()?;
        }
        if self.dir_dirty.swap(false, Ordering::AcqRel) {
            if let Err(error) = sync_dir(&self.root) {
                self.dir_dirty.store(true, Ordering::Release);
                return Err(error);
            }
        }
        let mut files = write_lock(&self.files);
        for job in jobs {
            if let Some(file) = files.iter_mut().find(|file| file.id == job.file_id) {
                file.mark_flushed(job.header);
            }
        }
        Ok(())
    }

    /// Recovery: deletes the newest files that index a record at or past
    /// `max_valid_commit_log_offset` (the recovered CommitLog end; a record starting there
    /// or later is gone), and empty newest files. Returns the lowest `beginPhyOffset` of the
    /// deleted files that held entries: the dispatcher must re-index from there.
    ///
    /// # Errors
    /// `Io` if a file cannot be deleted.
    pub fn truncate_after(&self, max_valid_commit_log_offset: i64) -> Result<Option<i64>> {
        let mut files = write_lock(&self.files);
        let mut reindex_from: Option<i64> = None;
        while let Some(file) = files.last() {
            let header = file.header;
            if !header.is_empty() && header.end_phy_offset < max_valid_commit_log_offset {
                break;
            }
            if !header.is_empty() {
                let begin = header.begin_phy_offset;
                reindex_from = Some(reindex_from.map_or(begin, |from| from.min(begin)));
            }
            self.remove_newest(&mut files)?;
        }
        Ok(reindex_from)
    }

    /// Retention: deletes the oldest files whose every record lies below
    /// `min_commit_log_offset` (the first retained CommitLog offset), never the newest file.
    /// Returns the number of files deleted.
    ///
    /// # Errors
    /// `Io` if a file cannot be deleted.
    pub fn delete_expired(&self, min_commit_log_offset: i64) -> Result<usize> {
        let mut files = write_lock(&self.files);
        let expired = files
            .iter()
            .take(files.len().saturating_sub(1))
            .take_while(|file| file.header.end_phy_offset < min_commit_log_offset)
            .count();
        for file in files.drain(..expired) {
            remove_file(&file.path)?;
            self.dir_dirty.store(true, Ordering::Release);
        }
        Ok(expired)
    }

    /// The highest CommitLog offset indexed so far (`None` if nothing is indexed).
    #[must_use]
    pub fn last_indexed_phys_offset(&self) -> Option<i64> {
        last_indexed(&read_lock(&self.files))
    }

    /// Number of index files (for tests and metrics).
    #[must_use]
    pub fn file_count(&self) -> usize {
        read_lock(&self.files).len()
    }

    fn create_file(&self, newest: Option<&IndexFile>, store_ts_ms: i64) -> Result<IndexFile> {
        let mut name_ms = newest.map_or(store_ts_ms, |f| store_ts_ms.max(f.name_ms + 1));
        name_ms = name_ms.clamp(0, name::NAME_MS_MAX);
        let mut path = self.root.join(name::format_name(name_ms));
        while path.exists() && name_ms < name::NAME_MS_MAX {
            name_ms += 1; // an unreadable leftover holds the name: take the next one
            path = self.root.join(name::format_name(name_ms));
        }
        let file = IndexFile::create(&path, name_ms, self.geometry)?;
        self.dir_dirty.store(true, Ordering::Release);
        Ok(file)
    }

    fn remove_newest(&self, files: &mut Vec<IndexFile>) -> Result<()> {
        if let Some(file) = files.pop() {
            remove_file(&file.path)?;
            self.dir_dirty.store(true, Ordering::Release);
        }
        Ok(())
    }
}

impl std::fmt::Debug for IndexService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexService")
            .field("root", &self.root)
            .field("geometry", &self.geometry)
            .field("files", &self.file_count())
            .finish_non_exhaustive()
    }
}

fn last_indexed(files: &[IndexFile]) -> Option<i64> {
    let newest = files.iter().rev().find(|file| !file.header.is_empty())?;
    Some(newest.header.end_phy_offset)
}

fn validate_config(config: IndexConfig) -> Result<Geometry> {
    let geometry = Geometry {
        slots: config.max_hash_slots,
        entries: config.max_index_entries,
    };
    let valid = config.max_hash_slots > 0
        && config.max_index_entries >= 2
        && i32::try_from(config.max_index_entries).is_ok()
        && usize::try_from(geometry.file_size()).is_ok_and(|size| size <= isize::MAX as usize);
    if valid {
        Ok(geometry)
    } else {
        Err(IndexFileError::InvalidArgument(format!(
            "bad config {config:?}"
        )))
    }
}

fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io_error(path)(error)),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(io_error(dir))
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> IndexFileError + '_ {
    move |source| IndexFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_lock<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    // Every mutation of the file list is a single push, pop or drain; a panic elsewhere
    // leaves it valid.
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_lock<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
