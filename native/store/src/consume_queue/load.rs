//! Rebuilds one queue's `[min_offset, max_offset)` from its files when the store opens.
//!
//! The files of a queue must be contiguous (file k+1 starts where file k ends) and aligned to
//! `entries_per_file`; anything else is reported as `CorruptFile` rather than guessed at.
//! An entry is *present* when its size is positive. Entries are written in order, so the
//! present entries form one run: an optional leading hole (zero bytes before the first entry
//! of a queue that started past a file's first slot) and, after a crash, a zero tail (the file
//! grew but the data pages never reached the disk) or a partial trailing entry.
//!
//! * `min_offset` is the first present entry of the first file (one pread in the usual case).
//! * `max_offset` is the first absent entry at or after it, found by checking the last entry of
//!   each file and binary-searching the file where the run ends: O(files + log entries) reads
//!   per queue, so opening 80,000 queues stays cheap. Holes *inside* the run cannot be found
//!   this way; they are healed when the dispatcher re-dispatches (rewrites are idempotent)
//!   and reported as `CorruptFile` by readers until then.
//! * The file where the run ends is truncated to it (dropping a partial or zeroed tail) and
//!   later files are deleted, so the next append continues exactly at `max_offset`.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::CQ_ENTRY_SIZE;
use super::{corrupt, io_error, read_full_at, sync_dir, ConsumeQueueError, CqEntry, Geometry};

/// Bytes read per step while looking for the first entry after a leading hole.
const HOLE_SCAN_BYTES: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct QueueBounds {
    pub min_offset: i64,
    pub max_offset: i64,
    /// Start offset of the first file on disk (`min_offset` if there is none).
    pub first_file_start: i64,
}

/// Scans `dir` (one `<topic>/<queueId>` directory), repairs its tail and returns its bounds.
pub(super) fn load_queue(dir: &Path, geometry: Geometry) -> Result<QueueBounds, ConsumeQueueError> {
    let starts = list_files(dir, geometry)?;
    let Some(&first) = starts.first() else {
        return Ok(QueueBounds {
            min_offset: 0,
            max_offset: 0,
            first_file_start: 0,
        });
    };
    let first_index = first_present(&dir.join(geometry.file_name(first)))?.unwrap_or(0);
    let min_offset = first + first_index;
    for (i, &file_start) in starts.iter().enumerate() {
        let from = if i == 0 { first_index } else { 0 };
        let is_last = i + 1 == starts.len();
        let path = dir.join(geometry.file_name(file_start));
        if let Some(end_index) = end_in_file(&path, geometry, from, is_last)? {
            // An emptied file is deleted unless it is the only one left: that one keeps
            // the max offset across restarts.
            let keep_empty = i == 0;
            if cut_after(dir, geometry, &starts[i..], end_index, keep_empty)? {
                sync_dir(dir)?;
            }
            let max_offset = file_start + end_index;
            return Ok(QueueBounds {
                min_offset,
                max_offset,
                first_file_start: first,
            });
        }
    }
    // `end_in_file` always returns `Some` for the last file.
    Err(corrupt(dir, "no end of queue found".to_string()))
}

/// Lists the queue's files as sorted logical start offsets, checking alignment and contiguity.
fn list_files(dir: &Path, geometry: Geometry) -> Result<Vec<i64>, ConsumeQueueError> {
    let mut starts = Vec::new();
    for dir_entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let dir_entry = dir_entry.map_err(io_error(dir))?;
        let name = dir_entry.file_name();
        let Some(byte_offset) = name.to_str().and_then(Geometry::parse_file_name) else {
            continue; // not a ConsumeQueue file (e.g. an operator's backup); left alone
        };
        if byte_offset % geometry.file_bytes() != 0 {
            let reason = format!(
                "name is not a multiple of entries_per_file × 20 = {}; written with another \
                 entries_per_file?",
                geometry.file_bytes()
            );
            return Err(corrupt(&dir_entry.path(), reason));
        }
        starts.push(byte_offset / CQ_ENTRY_SIZE as i64);
    }
    starts.sort_unstable();
    for pair in starts.windows(2) {
        if pair[1] != pair[0] + geometry.entries_per_file {
            let reason = format!("missing file after {}", geometry.file_name(pair[0]));
            return Err(corrupt(dir, reason));
        }
    }
    Ok(starts)
}

/// Index of the first present entry of the file, or `None` if it holds none.
fn first_present(path: &Path) -> Result<Option<i64>, ConsumeQueueError> {
    let file = File::open(path).map_err(io_error(path))?;
    if entry_at(&file, path, 0)?.is_some_and(|entry| entry.is_present()) {
        return Ok(Some(0)); // the usual case: one 20-byte read
    }
    let mut buffer = vec![0_u8; HOLE_SCAN_BYTES];
    let mut position = 0_u64;
    loop {
        let read = read_full_at(&file, &mut buffer, position).map_err(io_error(path))?;
        let whole = read - read % CQ_ENTRY_SIZE;
        let chunks = buffer[..whole].chunks_exact(CQ_ENTRY_SIZE);
        if let Some(found) = chunks
            .map(CqEntry::decode)
            .position(|entry| entry.is_present())
        {
            let index = position / CQ_ENTRY_SIZE as u64 + found as u64;
            return Ok(Some(index as i64));
        }
        if read < buffer.len() {
            return Ok(None);
        }
        position += whole as u64;
    }
}

/// Returns `None` if this file is full and its last entry present (the run continues in the
/// next file), else the index of the first absent entry at or after `from`.
fn end_in_file(
    path: &Path,
    geometry: Geometry,
    from: i64,
    is_last: bool,
) -> Result<Option<i64>, ConsumeQueueError> {
    let file = File::open(path).map_err(io_error(path))?;
    let len = file.metadata().map_err(io_error(path))?.len();
    if len > geometry.file_bytes() as u64 {
        let reason = format!("{len} bytes, longer than entries_per_file × 20");
        return Err(corrupt(path, reason));
    }
    let entries = (len / CQ_ENTRY_SIZE as u64) as i64;
    let present = |index: i64| -> Result<bool, ConsumeQueueError> {
        Ok(entry_at(&file, path, index)?.is_some_and(|entry| entry.is_present()))
    };
    if entries > 0 && present(entries - 1)? {
        let full = entries == geometry.entries_per_file;
        return Ok(if full && !is_last {
            None
        } else {
            Some(entries)
        });
    }
    let (mut low, mut high) = (from.min(entries), entries);
    while low < high {
        let middle = low + (high - low) / 2;
        if present(middle)? {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    Ok(Some(low))
}

/// Truncates `files[0]` to `end_index` entries (deleting it if that empties it, unless
/// `keep_empty`) and deletes the files after it. Returns whether anything changed.
fn cut_after(
    dir: &Path,
    geometry: Geometry,
    files: &[i64],
    end_index: i64,
    keep_empty: bool,
) -> Result<bool, ConsumeQueueError> {
    let mut changed = false;
    if let Some((&end_file, later)) = files.split_first() {
        let path = dir.join(geometry.file_name(end_file));
        if end_index == 0 && !keep_empty {
            fs::remove_file(&path).map_err(io_error(&path))?;
            changed = true;
        } else {
            changed |= truncate_file(&path, end_index as u64 * CQ_ENTRY_SIZE as u64)?;
        }
        for &file_start in later {
            let path = dir.join(geometry.file_name(file_start));
            fs::remove_file(&path).map_err(io_error(&path))?;
            changed = true;
        }
    }
    Ok(changed)
}

fn truncate_file(path: &Path, length: u64) -> Result<bool, ConsumeQueueError> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_error(path))?;
    if file.metadata().map_err(io_error(path))?.len() == length {
        return Ok(false);
    }
    file.set_len(length).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))?;
    Ok(true)
}

/// Reads the entry at `index`, or `None` past the end of the file.
fn entry_at(file: &File, path: &Path, index: i64) -> Result<Option<CqEntry>, ConsumeQueueError> {
    let mut bytes = [0_u8; CQ_ENTRY_SIZE];
    let position = index as u64 * CQ_ENTRY_SIZE as u64;
    match file.read_exact_at(&mut bytes, position) {
        Ok(()) => Ok(Some(CqEntry::decode(&bytes))),
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(error) => Err(io_error(path)(error)),
    }
}
