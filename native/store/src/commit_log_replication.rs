//! The CommitLog's two replication calls: a master reads raw published bytes by physical range,
//! a slave writes them at the same physical offsets and publishes the complete records.

use std::sync::atomic::Ordering;

use super::CommitLog;
use crate::error::{Result, StoreError};

impl CommitLog {
    /// Raw published bytes from `offset`, at most `max_len`, never crossing a segment end.
    /// Replication ships these to a slave.
    pub fn read_raw(&self, offset: u64, max_len: usize) -> Result<Vec<u8>> {
        if offset == self.write_position() && offset == self.appended_position() {
            return Ok(Vec::new());
        }
        let (segment, pos, available) = self.readable_at(offset)?;
        Ok(segment.slice(pos, available.min(max_len)).to_vec())
    }

    /// Slave side of replication: write raw bytes shipped by the master at the same physical
    /// offsets, then publish the complete, verified records among them. `offset` must be the
    /// position received so far (what the slave reports to the master); returns the new one.
    /// A record split across chunks is published when its last byte arrives.
    pub fn append_raw(&self, offset: u64, bytes: &[u8]) -> Result<u64> {
        // Records staged by local appends (a former master) go first; `commit` takes the write
        // lock itself.
        self.commit()?;
        let mut write = self.write.lock().expect("write lock");
        let expected = write.received_position;
        if offset != expected {
            return Err(StoreError::ReplicaOffsetMismatch { offered: offset, expected });
        }
        let mut position = offset;
        let mut rest = bytes;
        while !rest.is_empty() {
            let segment = match &write.current {
                Some(segment) if position < segment.file_from_offset() + self.segment_size => segment.clone(),
                _ => self.activate_segment(&mut write, position)?,
            };
            let used = (position - segment.file_from_offset()) as usize;
            let room = self.segment_size as usize - used;
            let len = room.min(rest.len());
            segment.claim_for_write(used + len);
            // SAFETY: single writer under the write lock, at or above the published position.
            unsafe { segment.slice_mut(used, len) }.copy_from_slice(&rest[..len]);
            position += len as u64;
            rest = &rest[len..];
        }
        write.received_position = position;
        let published = self.write_position.load(Ordering::Relaxed);
        let mut end = published;
        let mut grown: Vec<(String, i32, i64)> = Vec::new();
        let (valid_end, _) = self.scan_valid_end(published, |view| {
            let record_end = view.physical_offset as u64 + view.total_size as u64;
            if record_end <= position {
                end = record_end;
                if view.takes_queue_offset() {
                    grown.push((view.topic.to_owned(), view.queue_id, view.queue_offset + 1));
                }
            }
        });
        // A BLANK at a segment end carries the readable end to the next segment's start.
        if valid_end <= position {
            end = end.max(valid_end);
        }
        for (topic, queue_id, next) in grown {
            write.queue_offsets.set(&topic, queue_id, next);
        }
        self.appended_position.store(end, Ordering::Release);
        self.write_position.store(end, Ordering::Release);
        Ok(position)
    }
}
