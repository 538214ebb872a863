//! Recovery truncation and retention of ConsumeQueue files.
//!
//! Both walk every queue, taking the writer mutex per queue so the dispatcher is never stalled
//! for the whole walk. Both rely on CommitLog offsets increasing along a queue (entries are
//! dispatched in CommitLog order), which makes "entry points past X" and "entry points below X"
//! monotone predicates that a binary search can find.

use std::sync::atomic::Ordering;

use super::write::WriterState;
use super::{partition_point, ConsumeQueueStore, QueueState, Result};

impl ConsumeQueueStore {
    /// Recovery: drops every entry whose record ends past `max_valid_commit_log_offset` (the
    /// recovered end of the CommitLog), lowering max offsets, truncating files and deleting
    /// files past the new end. Discards all buffered entries. Call before readers and the
    /// dispatcher start; a reader racing with it may still see the dropped entries. Returns
    /// the number of entries dropped.
    ///
    /// # Errors
    /// `Io` on file-system errors, `CorruptFile` if an absent entry is found below max.
    pub fn truncate_dirty(&self, max_valid_commit_log_offset: i64) -> Result<u64> {
        drop(self.lock_writer().take_pending());
        let mut dropped = 0;
        for queue in self.all_queues() {
            let mut writer = self.lock_writer();
            dropped += self.truncate_queue(&mut writer, &queue, max_valid_commit_log_offset)?;
        }
        Ok(dropped)
    }

    fn truncate_queue(
        &self,
        writer: &mut WriterState,
        queue: &QueueState,
        max_valid_commit_log_offset: i64,
    ) -> Result<u64> {
        let (min, max) = queue.bounds();
        let is_valid = |offset: i64| -> Result<bool> {
            Ok(self.read_one(queue, offset)?.end_offset() <= max_valid_commit_log_offset)
        };
        if max <= min || is_valid(max - 1)? {
            return Ok(0);
        }
        let new_max = partition_point(min, max, is_valid)?;
        queue.max_offset.store(new_max, Ordering::Release);
        let end_file = self.geometry.file_start(new_max);
        let (file, path, _) = self.handle(queue, end_file, false)?;
        let length = self.geometry.byte_position(new_max);
        file.set_len(length).map_err(super::io_error(&path))?;
        writer.mark_file_dirty(path, queue.file_key(end_file));
        // An earlier truncation to a file start may have left an empty file at `max`.
        let last_file = self.geometry.file_start(max);
        let later: Vec<i64> = (end_file..=last_file)
            .step_by(self.geometry.entries_per_file as usize)
            .skip(1)
            .collect();
        self.delete_files(writer, queue, &later)?;
        Ok((max - new_max) as u64)
    }

    /// Retention: for each queue, deletes the files entirely below the min offset and the files
    /// whose last entry points below `min_commit_log_offset` (the first retained CommitLog
    /// offset), never the file holding the queue's last entry (it carries the max offset across
    /// restarts), then moves the min offset to the first entry that still points into the
    /// CommitLog (possibly max). Call it once after open, too: reopening resets min to the
    /// first entry present on disk. Returns the number of files deleted.
    ///
    /// # Errors
    /// `Io` on file-system errors, `CorruptFile` if an absent entry is found below max.
    pub fn delete_expired(&self, min_commit_log_offset: i64) -> Result<usize> {
        let mut deleted = 0;
        for queue in self.all_queues() {
            let mut writer = self.lock_writer();
            deleted += self.expire_queue(&mut writer, &queue, min_commit_log_offset)?;
        }
        Ok(deleted)
    }

    fn expire_queue(
        &self,
        writer: &mut WriterState,
        queue: &QueueState,
        min_commit_log_offset: i64,
    ) -> Result<usize> {
        let (min, max) = queue.bounds();
        if max == 0 {
            return Ok(0); // no entry was ever written
        }
        let is_expired = |offset: i64| -> Result<bool> {
            Ok(self.read_one(queue, offset)?.commit_log_offset < min_commit_log_offset)
        };
        let entries_per_file = self.geometry.entries_per_file;
        let last_file = self.geometry.file_start(max - 1);
        let mut file = queue.first_file_start.load(Ordering::Relaxed);
        let mut doomed = Vec::new();
        while file < last_file && file + entries_per_file <= min {
            doomed.push(file); // left behind as the last file when the queue was empty
            file += entries_per_file;
        }
        // The usual case ends here: one 20-byte read per queue.
        if max > min && is_expired(min)? {
            while file < last_file && is_expired(file + entries_per_file - 1)? {
                doomed.push(file);
                file += entries_per_file;
            }
            let new_min = partition_point(min.max(file), max, is_expired)?;
            // Publish min before deleting, so readers get OffsetTooSmall, not a missing file.
            queue.min_offset.store(new_min, Ordering::Release);
        }
        queue.first_file_start.store(file, Ordering::Relaxed);
        self.delete_files(writer, queue, &doomed)?;
        Ok(doomed.len())
    }
}
