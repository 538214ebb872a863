//! Read side of the ConsumeQueue: plain and tag-filtered reads and the search by time.
//!
//! Readers take no writer lock. They load the queue's max offset (`Acquire`) before reading,
//! so every byte below it was written before it was published. A missing file or an absent
//! entry is re-checked against the min offset, because retention may have moved it while the
//! read was in flight.

use std::sync::atomic::Ordering;

use super::{
    corrupt, io_error, partition_point, read_full_at, BoundaryType, ConsumeQueueError,
    ConsumeQueueStore, CqEntry, FilteredRead, OffsetEntry, QueueState, Result, CQ_ENTRY_SIZE,
    FILTER_CHUNK_ENTRIES,
};

impl ConsumeQueueStore {
    /// Reads up to `max_entries` entries from `from_offset`, stopping at the max offset and at
    /// the end of the file holding `from_offset` (call again to continue). An offset at or past
    /// max, or an unknown queue, yields an empty vector.
    ///
    /// # Errors
    /// `OffsetTooSmall` if `from_offset` is below the min offset, `CorruptFile` if an absent
    /// entry is found below max, `Io` on read errors.
    pub fn read(
        &self,
        topic: &str,
        queue_id: i32,
        from_offset: i64,
        max_entries: usize,
    ) -> Result<Vec<CqEntry>> {
        if from_offset < 0 {
            let reason = format!("negative offset {from_offset}");
            return Err(ConsumeQueueError::InvalidArgument(reason));
        }
        let Some(queue) = self.queue(topic, queue_id) else {
            return Ok(Vec::new());
        };
        let (min, max) = queue.bounds();
        if from_offset < min {
            return Err(queue.too_small(from_offset));
        }
        let file_end = self.geometry.file_start(from_offset) + self.geometry.entries_per_file;
        let wanted = i64::try_from(max_entries).unwrap_or(i64::MAX);
        let count = wanted.min(max.min(file_end) - from_offset);
        if count <= 0 {
            return Ok(Vec::new());
        }
        self.read_range(&queue, from_offset, count)
    }

    /// Scans at most `max_scan` entries from `from_offset` (crossing files) and returns those
    /// whose `tags_code` is in `tag_codes` (all of them for `None`), at most `max_entries`.
    /// `next_offset` is where the next call should continue.
    ///
    /// # Errors
    /// As [`Self::read`].
    pub fn read_filtered(
        &self,
        topic: &str,
        queue_id: i32,
        from_offset: i64,
        max_entries: usize,
        max_scan: usize,
        tag_codes: Option<&[i64]>,
    ) -> Result<FilteredRead> {
        let mut result = FilteredRead {
            entries: Vec::new(),
            next_offset: from_offset,
        };
        let mut scan_left = i64::try_from(max_scan).unwrap_or(i64::MAX);
        while scan_left > 0 && result.entries.len() < max_entries {
            let chunk = scan_left.min(FILTER_CHUNK_ENTRIES) as usize;
            let entries = self.read(topic, queue_id, result.next_offset, chunk)?;
            if entries.is_empty() {
                break;
            }
            for entry in entries {
                let queue_offset = result.next_offset;
                result.next_offset += 1;
                scan_left -= 1;
                if tags_match(tag_codes, entry.tags_code) {
                    result.entries.push(OffsetEntry {
                        queue_offset,
                        entry,
                    });
                    if result.entries.len() == max_entries {
                        break;
                    }
                }
            }
        }
        Ok(result)
    }

    /// Finds a queue offset by store timestamp with a binary search over `[min, max)`.
    /// `lookup_store_ts(commit_log_offset, size)` returns the record's store timestamp, or
    /// `None` if the record is gone (treated as older than everything, since only a deleted
    /// prefix can be gone). Timestamps are assumed non-decreasing along the queue.
    ///
    /// Edges: an empty queue yields its max offset. `Lower` yields the max offset if every
    /// entry is older than `timestamp_ms`; `Upper` yields the min offset if every entry is
    /// newer.
    ///
    /// # Errors
    /// As [`Self::read`].
    pub fn search_offset_by_time(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp_ms: i64,
        lookup_store_ts: impl Fn(i64, i32) -> Option<i64>,
        boundary: BoundaryType,
    ) -> Result<i64> {
        let Some(queue) = self.queue(topic, queue_id) else {
            return Ok(0);
        };
        let (min, max) = queue.bounds();
        let store_ts = |offset: i64| -> Result<i64> {
            let entry = self.read_one(&queue, offset)?;
            Ok(lookup_store_ts(entry.commit_log_offset, entry.size).unwrap_or(i64::MIN))
        };
        match boundary {
            BoundaryType::Lower => partition_point(min, max, |o| Ok(store_ts(o)? < timestamp_ms)),
            BoundaryType::Upper => {
                let after = partition_point(min, max, |o| Ok(store_ts(o)? <= timestamp_ms))?;
                Ok(if after > min { after - 1 } else { min })
            }
        }
    }

    /// Reads `count` entries starting at `from`, all within one file.
    pub(super) fn read_range(
        &self,
        queue: &QueueState,
        from: i64,
        count: i64,
    ) -> Result<Vec<CqEntry>> {
        let file_start = self.geometry.file_start(from);
        let (file, path) = match self.handle(queue, file_start, false) {
            Ok((file, path, _)) => (file, path),
            Err(error) => return Err(self.explain_anomaly(queue, from, error)),
        };
        let mut buffer = vec![0_u8; count as usize * CQ_ENTRY_SIZE];
        let position = self.geometry.byte_position(from);
        let read = read_full_at(&file, &mut buffer, position).map_err(io_error(&path))?;
        let mut entries = Vec::with_capacity(read / CQ_ENTRY_SIZE);
        for (index, bytes) in buffer[..read].chunks_exact(CQ_ENTRY_SIZE).enumerate() {
            let entry = CqEntry::decode(bytes);
            if !entry.is_present() {
                let reason = format!(
                    "absent entry at queue offset {} below max",
                    from + index as i64
                );
                return Err(self.explain_anomaly(queue, from, corrupt(&path, reason)));
            }
            entries.push(entry);
        }
        Ok(entries)
    }

    pub(super) fn read_one(&self, queue: &QueueState, offset: i64) -> Result<CqEntry> {
        match self.read_range(queue, offset, 1)?.first() {
            Some(entry) => Ok(*entry),
            None => Err(corrupt(
                &queue.dir,
                format!("entry {offset} below max is missing"),
            )),
        }
    }

    /// A missing file or absent entry is expected if retention moved min past `from` while we
    /// were reading; report that as `OffsetTooSmall`, anything else as is.
    fn explain_anomaly(
        &self,
        queue: &QueueState,
        from: i64,
        error: ConsumeQueueError,
    ) -> ConsumeQueueError {
        if from < queue.min_offset.load(Ordering::Acquire) {
            queue.too_small(from)
        } else {
            error
        }
    }
}

fn tags_match(tag_codes: Option<&[i64]>, tags_code: i64) -> bool {
    match tag_codes {
        None => true,
        Some(codes) => codes.contains(&tags_code),
    }
}
