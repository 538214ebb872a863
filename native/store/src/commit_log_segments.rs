//! The writer's segments: making the next one current at a roll-over, and the allocator's
//! work ahead of the write head (pre-faulting) and behind it (unmapping, writeback).

use std::sync::Arc;

use super::{CommitLog, WriteState};
use crate::allocator::{AheadWork, PrefaultJob};
use crate::error::Result;
use crate::mapped_file::Segment;

impl CommitLog {
    /// Make the segment starting at `from` current, taking it from the allocator.
    pub(super) fn activate_segment(&self, write: &mut WriteState, from: u64) -> Result<Arc<Segment>> {
        debug_assert_eq!(from % self.segment_size, 0, "segments start at multiples of their size");
        if let Some(existing) = self.segment_for(from) {
            write.current = Some(existing.clone());
            return Ok(existing);
        }
        let segment = Arc::new(self.allocator.take(from)?);
        segment.advise_sequential();
        {
            let mut segments = self.segments.write().expect("segment list lock");
            if let Some(last) = segments.last() {
                debug_assert_eq!(last.file_from_offset() + self.segment_size, from);
            }
            // The segment two back is cold for the writer: unmap its pages from this process
            // (they stay in the page cache, and a reader faults them back in if it needs them).
            if self.release_cold_segments && segments.len() >= 2 {
                segments[segments.len() - 2].advise_dont_need();
            }
            segments.push(segment.clone());
        }
        self.prepare_next(from + self.segment_size);
        self.allocator.prefault_ahead(PrefaultJob {
            segment: segment.clone(),
            pos: 0,
            len: 8 << 20,
            ahead: self.work_ahead(),
            unmap_before: 0,
            write_back_before: None,
        });
        write.current = Some(segment.clone());
        Ok(segment)
    }

    /// Each time the write head enters a new 4 MiB window, have the allocator pre-fault the
    /// window after the next one (the writer then rarely meets an unmapped page) and unmap
    /// what lies before the previous window (4-8 MiB behind the head, which the dispatcher
    /// has normally read long ago), off the flush's path, and start writing that back
    /// (`StoreConfig::write_back_behind_head`).
    pub(super) fn prefault_ahead(&self, write: &WriteState, before: u64, after: u64) {
        const WINDOW: u64 = 4 << 20;
        if before / WINDOW == after / WINDOW {
            return;
        }
        if let Some(segment) = &write.current {
            let base = segment.file_from_offset();
            if after >= base {
                let window_start = (after - base) / WINDOW * WINDOW;
                let from = window_start + WINDOW;
                let unmap_before = window_start.saturating_sub(WINDOW) as usize;
                // Near the segment's end the pre-fault window is clipped (to nothing), but the
                // unmapping behind the head goes on.
                self.allocator.prefault_ahead(PrefaultJob {
                    segment: segment.clone(),
                    pos: from as usize,
                    len: (2 * WINDOW) as usize,
                    ahead: self.work_ahead(),
                    unmap_before,
                    write_back_before: self.write_back_behind_head.then_some(unmap_before),
                });
            }
        }
    }

    /// Have the allocator create the segment at `offset` unless it already exists (a file left
    /// from before a restart is reused, never replaced).
    pub(super) fn prepare_next(&self, offset: u64) {
        if self.segment_for(offset).is_none() {
            self.allocator.prepare(offset);
        }
    }

    /// What the allocator does to the window ahead of the write head (see `AheadWork`).
    pub(super) fn work_ahead(&self) -> AheadWork {
        match (self.by_pwrite(), self.zero_fill_ahead) {
            (false, _) => AheadWork::Prefault,
            (true, false) => AheadWork::Preload,
            (true, true) => AheadWork::ZeroFill,
        }
    }
}
