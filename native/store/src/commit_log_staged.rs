//! Records staged for a later pwrite (`AppendMode::Pwrite` within one append call,
//! `AppendMode::DeferredPwrite` until the next commit) and the commit that writes and
//! publishes them. See the CommitLog module docs for who commits and why.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::CommitLog;
use crate::error::{IoContext, Result, StoreError};
use crate::mapped_file::Segment;

/// With `DeferredPwrite`, the appender commits itself once this much is staged (bounds the
/// stage's memory when nobody else commits for a while).
pub(super) const DEFERRED_COMMIT_BYTES: usize = 1 << 20;

/// Encoded records waiting for a pwrite (see `AppendMode`).
#[derive(Default)]
pub(super) struct Staged {
    pub(super) bytes: Vec<u8>,
    /// Physical offset of `bytes[0]`.
    pub(super) from: u64,
}

impl Staged {
    /// Room for `size` bytes at physical `position`, which must follow what is staged.
    pub(super) fn slot(&mut self, position: u64, size: usize) -> &mut [u8] {
        if self.bytes.is_empty() {
            self.from = position;
        }
        debug_assert_eq!(self.from + self.bytes.len() as u64, position, "staged bytes are contiguous");
        let at = self.bytes.len();
        self.bytes.resize(at + size, 0);
        &mut self.bytes[at..]
    }
}

impl CommitLog {
    /// Write the staged records (`AppendMode::DeferredPwrite`) and publish them; returns the
    /// write position. Cheap when nothing is staged. On failure the records stay staged (and
    /// unpublished), so a later commit writes them without leaving a hole.
    ///
    /// The staged bytes are swapped out under the write lock and written after it is released,
    /// so the appender does not wait for the pwrite (the flusher commits thousands of times a
    /// second under SYNC_FLUSH load). `committing` serializes committers, which keeps the
    /// published position monotonic. Lock order: `committing`, then `write`; never the reverse.
    pub fn commit(&self) -> Result<u64> {
        let published = self.write_position();
        if self.appended_position() == published {
            return Ok(published);
        }
        let mut out = self.committing.lock().expect("commit lock");
        let current = {
            let mut guard = self.write.lock().expect("write lock");
            let write = &mut *guard;
            if out.bytes.is_empty() {
                // The emptied buffer goes back to the appender: no allocation per commit.
                std::mem::swap(&mut out.bytes, &mut write.staged.bytes);
                out.from = write.staged.from;
            } else {
                // An earlier commit failed: its bytes are still here, and these follow them.
                debug_assert!(write.staged.bytes.is_empty() || out.from + out.bytes.len() as u64 == write.staged.from);
                out.bytes.extend_from_slice(&write.staged.bytes);
                write.staged.bytes.clear();
            }
            write.current.clone()
        };
        if out.bytes.is_empty() {
            return Ok(self.write_position());
        }
        let end = out.from + out.bytes.len() as u64;
        debug_assert_eq!(out.from, self.write_position(), "staged records follow the published ones");
        self.write_staged(current.as_ref(), &mut out)?;
        self.write_position.store(end, Ordering::Release);
        Ok(end)
    }

    /// Write the staged records into their segment files (where they start at `staged.from`)
    /// and empty the stage; on failure the stage is left as it was. Publishing is the
    /// caller's. `current` is the writer's segment, the usual (lock-free) destination.
    pub(super) fn write_staged(&self, current: Option<&Arc<Segment>>, staged: &mut Staged) -> Result<()> {
        use std::os::unix::fs::FileExt;
        #[cfg(test)]
        if self.fail_next_staged_write.swap(false, Ordering::Relaxed) {
            return Err(StoreError::io("injected write failure", std::io::Error::other("injected")));
        }
        let mut from = staged.from;
        let mut rest = &staged.bytes[..];
        while !rest.is_empty() {
            let looked_up;
            let segment = match current {
                Some(segment) if from >= segment.file_from_offset() && from < segment.file_from_offset() + self.segment_size => segment,
                _ => {
                    looked_up = self.segment_for(from).ok_or_else(|| StoreError::Corrupt {
                        offset: from,
                        reason: "no segment for staged records".into(),
                    })?;
                    &looked_up
                }
            };
            let pos = from - segment.file_from_offset();
            let len = rest.len().min((self.segment_size - pos) as usize);
            segment.claim_for_write(pos as usize + len);
            segment
                .file()
                .write_all_at(&rest[..len], pos)
                .context(|| format!("writing {len} bytes at {pos} of {}", segment.path().display()))?;
            from += len as u64;
            rest = &rest[len..];
        }
        staged.bytes.clear();
        Ok(())
    }
}
