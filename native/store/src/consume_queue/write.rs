//! Write side of the ConsumeQueue: buffering (`put`), batched `pwrite`s (`commit_batch`),
//! durability bookkeeping (`flush`) and the file deletions shared with retention.
//!
//! Everything here runs under the store's writer mutex, except the syncs of `flush`, which
//! take a snapshot of the dirty set under the mutex and sync outside it so a slow fdatasync
//! never stalls the dispatcher.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{
    io_error, sync_dir, ConsumeQueueError, ConsumeQueueStore, CqEntry, FileKey, Geometry,
    QueueState, Result, CQ_ENTRY_SIZE,
};

/// State owned by the single writer.
#[derive(Default)]
pub(super) struct WriterState {
    /// Buffered runs per queue, in first-put order (so `commit_batch` reports in that order).
    pending: Vec<PendingQueue>,
    pending_index: HashMap<u64, usize>,
    pending_entries: usize,
    /// Files written since the last flush, by path.
    dirty_files: HashMap<PathBuf, FileKey>,
    /// Directories whose entries changed since the last flush.
    dirty_dirs: HashSet<PathBuf>,
    /// Queues whose directory is known to exist.
    ready_dirs: HashSet<u64>,
}

/// Buffered entries of one queue: runs of consecutive offsets.
pub(super) struct PendingQueue {
    queue: Arc<QueueState>,
    runs: Vec<Run>,
    /// One past the highest staged offset.
    staged_end: i64,
}

struct Run {
    start: i64,
    bytes: Vec<u8>,
}

impl Run {
    fn len(&self) -> i64 {
        (self.bytes.len() / CQ_ENTRY_SIZE) as i64
    }

    fn end(&self) -> i64 {
        self.start + self.len()
    }
}

/// Snapshot of what `flush` must sync.
pub(super) struct Dirty {
    files: Vec<(PathBuf, FileKey)>,
    dirs: Vec<PathBuf>,
}

impl PendingQueue {
    pub(super) fn queue(&self) -> &Arc<QueueState> {
        &self.queue
    }
}

impl WriterState {
    pub(super) fn pending_entries(&self) -> usize {
        self.pending_entries
    }

    pub(super) fn take_pending(&mut self) -> Vec<PendingQueue> {
        self.pending_index.clear();
        self.pending_entries = 0;
        std::mem::take(&mut self.pending)
    }

    pub(super) fn take_dirty(&mut self) -> Dirty {
        let files = self.dirty_files.drain().collect();
        let dirs = self.dirty_dirs.drain().collect();
        Dirty { files, dirs }
    }

    pub(super) fn mark_dir_ready(&mut self, queue_uid: u64) {
        self.ready_dirs.insert(queue_uid);
    }

    pub(super) fn mark_file_dirty(&mut self, path: PathBuf, key: FileKey) {
        self.dirty_files.insert(path, key);
    }

    pub(super) fn mark_dir_dirty(&mut self, dir: PathBuf) {
        self.dirty_dirs.insert(dir);
    }

    /// Drops everything known about a deleted queue.
    pub(super) fn forget_queue(&mut self, queue_uid: u64) {
        self.pending
            .retain(|pending| pending.queue.uid != queue_uid);
        self.pending_index = (self.pending.iter().enumerate())
            .map(|(index, pending)| (pending.queue.uid, index))
            .collect();
        self.pending_entries = self
            .pending
            .iter()
            .map(|p| p.runs.iter().map(Run::len).sum::<i64>())
            .sum::<i64>() as usize;
        self.ready_dirs.remove(&queue_uid);
        self.dirty_files.retain(|_, key| key.queue_uid != queue_uid);
    }

    fn pending_for(&mut self, queue: &Arc<QueueState>) -> &mut PendingQueue {
        let next_index = self.pending.len();
        let index = *self.pending_index.entry(queue.uid).or_insert(next_index);
        if index == next_index {
            let queue = Arc::clone(queue);
            self.pending.push(PendingQueue {
                queue,
                runs: Vec::new(),
                staged_end: 0,
            });
        }
        &mut self.pending[index]
    }
}

/// What `stage` does with an offset, decided before any mutation.
#[derive(Clone, Copy)]
enum Placement {
    Ignore,
    Append,
    NewRun,
    Restart,
    Gap { expected: i64 },
}

impl ConsumeQueueStore {
    pub(super) fn stage(
        &self,
        writer: &mut WriterState,
        queue: &Arc<QueueState>,
        queue_offset: i64,
        entry: CqEntry,
    ) -> Result<()> {
        let (min, max) = queue.bounds();
        let pending = writer.pending_for(queue);
        let next = max.max(pending.staged_end);
        let placement = if queue_offset < min {
            Placement::Ignore // retention already deleted this offset
        } else if pending
            .runs
            .last()
            .is_some_and(|run| run.end() == queue_offset)
        {
            Placement::Append
        } else if queue_offset <= next {
            Placement::NewRun // a new run or a rewrite of existing entries
        } else if min == max && pending.runs.is_empty() {
            Placement::Restart
        } else {
            Placement::Gap { expected: next }
        };
        match placement {
            Placement::Ignore => return Ok(()),
            Placement::Gap { expected } => {
                return Err(ConsumeQueueError::QueueOffsetGap {
                    topic: queue.topic.clone(),
                    queue_id: queue.queue_id,
                    queue_offset,
                    expected,
                })
            }
            Placement::Restart => self.restart_queue(writer, queue, queue_offset)?,
            Placement::Append | Placement::NewRun => {}
        }
        let pending = writer.pending_for(queue);
        match (placement, pending.runs.last_mut()) {
            (Placement::Append, Some(run)) => run.bytes.extend_from_slice(&entry.encode()),
            _ => pending.runs.push(Run {
                start: queue_offset,
                bytes: entry.encode().to_vec(),
            }),
        }
        pending.staged_end = pending.staged_end.max(queue_offset + 1);
        writer.pending_entries += 1;
        Ok(())
    }

    /// Empties the queue and restarts it at `queue_offset`. The deletions are made durable
    /// before any new file can be created, so a crash never leaves a gap between files.
    fn restart_queue(
        &self,
        writer: &mut WriterState,
        queue: &QueueState,
        queue_offset: i64,
    ) -> Result<()> {
        // min first: a reader in between sees min > max, i.e. an empty queue.
        queue.min_offset.store(queue_offset, Ordering::Release);
        queue.max_offset.store(queue_offset, Ordering::Release);
        let first_file_start = self.geometry.file_start(queue_offset);
        queue
            .first_file_start
            .store(first_file_start, Ordering::Relaxed);
        let files = list_queue_files(&queue.dir)?;
        if !files.is_empty() {
            self.delete_files(writer, queue, &files)?;
            sync_dir(&queue.dir)?;
        }
        Ok(())
    }

    /// Writes the runs of one queue; returns the queue's new max offset (not yet published).
    pub(super) fn write_runs(
        &self,
        writer: &mut WriterState,
        pending: &PendingQueue,
    ) -> Result<i64> {
        let queue = &pending.queue;
        self.ensure_queue_dir(writer, queue)?;
        let min = queue.min_offset.load(Ordering::Acquire);
        let mut new_max = queue.max_offset.load(Ordering::Acquire);
        let entries_per_file = self.geometry.entries_per_file;
        for run in &pending.runs {
            // Entries below min were deleted by retention after they were staged.
            let skipped = (min - run.start).clamp(0, run.len());
            let mut offset = run.start + skipped;
            let mut bytes = &run.bytes[skipped as usize * CQ_ENTRY_SIZE..];
            while !bytes.is_empty() {
                let room = self.geometry.file_start(offset) + entries_per_file - offset;
                let count = (room as usize).min(bytes.len() / CQ_ENTRY_SIZE);
                let (chunk, rest) = bytes.split_at(count * CQ_ENTRY_SIZE);
                self.write_chunk(writer, queue, offset, chunk)?;
                offset += count as i64;
                bytes = rest;
            }
            new_max = new_max.max(run.end());
        }
        Ok(new_max)
    }

    fn write_chunk(
        &self,
        writer: &mut WriterState,
        queue: &QueueState,
        offset: i64,
        chunk: &[u8],
    ) -> Result<()> {
        let file_start = self.geometry.file_start(offset);
        let (file, path, created) = self.handle(queue, file_start, true)?;
        if created {
            writer.dirty_dirs.insert(queue.dir.clone());
        }
        let position = self.geometry.byte_position(offset);
        file.write_all_at(chunk, position)
            .map_err(io_error(&path))?;
        writer.dirty_files.insert(path, queue.file_key(file_start));
        Ok(())
    }

    fn ensure_queue_dir(&self, writer: &mut WriterState, queue: &QueueState) -> Result<()> {
        if writer.ready_dirs.contains(&queue.uid) {
            return Ok(());
        }
        fs::create_dir_all(&queue.dir).map_err(io_error(&queue.dir))?;
        writer.dirty_dirs.insert(self.root.clone());
        writer.dirty_dirs.insert(self.root.join(&queue.topic));
        writer.ready_dirs.insert(queue.uid);
        Ok(())
    }

    /// Deletes the given files of a queue. The epoch bump makes every cached handle of the
    /// queue unreachable, so a file re-created later under the same name gets a fresh handle.
    pub(super) fn delete_files(
        &self,
        writer: &mut WriterState,
        queue: &QueueState,
        file_starts: &[i64],
    ) -> Result<()> {
        if file_starts.is_empty() {
            return Ok(());
        }
        queue.epoch.fetch_add(1, Ordering::AcqRel);
        self.handles.remove_queue(queue.uid);
        for &file_start in file_starts {
            let path = queue.dir.join(self.geometry.file_name(file_start));
            writer.dirty_files.remove(&path);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(io_error(&path)(error)),
            }
        }
        writer.dirty_dirs.insert(queue.dir.clone());
        Ok(())
    }

    /// Syncs a snapshot of dirty files and directories; puts back what was not synced on error.
    ///
    /// Many dirty files (thousands of active queues) are made durable with one `syncfs` of the
    /// file system holding the queues instead of one fdatasync each: the cost then follows the
    /// dirty bytes, not the number of files. Few dirty files keep the per-file syncs, which do
    /// not wait for unrelated writers on a shared disk.
    pub(super) fn sync_dirty(&self, dirty: Dirty) -> Result<()> {
        if dirty.files.len() > SYNCFS_FILES_THRESHOLD {
            return match syncfs(&self.root) {
                Ok(()) => Ok(()),
                Err(error) => {
                    self.restore_dirty(dirty.files, dirty.dirs);
                    Err(error)
                }
            };
        }
        let Dirty {
            mut files,
            mut dirs,
        } = dirty;
        while let Some((path, key)) = files.pop() {
            if let Err(error) = self.sync_file(&path, key) {
                files.push((path, key));
                self.restore_dirty(files, dirs);
                return Err(error);
            }
        }
        while let Some(dir) = dirs.pop() {
            if let Err(error) = sync_dir_if_exists(&dir) {
                dirs.push(dir);
                self.restore_dirty(files, dirs);
                return Err(error);
            }
        }
        Ok(())
    }

    fn restore_dirty(&self, files: Vec<(PathBuf, FileKey)>, dirs: Vec<PathBuf>) {
        let mut writer = self.lock_writer();
        writer.dirty_files.extend(files);
        writer.dirty_dirs.extend(dirs);
    }

    /// fdatasync of one file. fsync works on the inode, so a fresh descriptor syncs the pages
    /// written through an evicted one just as well. A file deleted since is skipped.
    fn sync_file(&self, path: &Path, key: FileKey) -> Result<()> {
        let file = match self.handles.get(&key) {
            Some(file) => file,
            None => match File::open(path) {
                Ok(file) => Arc::new(file),
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(error) => return Err(io_error(path)(error)),
            },
        };
        file.sync_data().map_err(io_error(path))
    }
}

/// Above this many dirty files a flush uses one `syncfs` (see `sync_dirty`).
pub(super) const SYNCFS_FILES_THRESHOLD: usize = 64;

/// syncfs(2) of the file system holding `dir`: data and metadata of every file on it.
fn syncfs(dir: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let handle = File::open(dir).map_err(io_error(dir))?;
    // SAFETY: `handle` is an open descriptor for the whole call; syncfs only reads it.
    let rc = unsafe { libc::syncfs(handle.as_raw_fd()) };
    if rc != 0 {
        return Err(io_error(dir)(io::Error::last_os_error()));
    }
    Ok(())
}

fn sync_dir_if_exists(dir: &Path) -> Result<()> {
    match File::open(dir) {
        Ok(handle) => handle.sync_all().map_err(io_error(dir)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io_error(dir)(error)),
    }
}

/// Start offsets of every ConsumeQueue file in `dir` (none if `dir` does not exist).
fn list_queue_files(dir: &Path) -> Result<Vec<i64>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io_error(dir)(error)),
    };
    let mut starts = Vec::new();
    for entry in entries {
        let name = entry.map_err(io_error(dir))?.file_name();
        if let Some(byte_offset) = name.to_str().and_then(Geometry::parse_file_name) {
            starts.push(byte_offset / CQ_ENTRY_SIZE as i64);
        }
    }
    Ok(starts)
}
