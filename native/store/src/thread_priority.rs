//! Scheduling priority of the engine's helper threads.
//!
//! Why: the helpers (segment allocator, dispatcher, retention, page-cache sampler) do work
//! ahead of or behind the request path, while the JS thread that appends, and the flusher
//! whose sync acknowledges SYNC_FLUSH sends, are the request path. On a small machine they
//! compete for the same cores: with 1 KiB single appends on this project's 2-vCPU VM the JS
//! thread was preempted 27-177 times per 200,000 appends and spent 25-35% of the loop off the
//! CPU. Raising the helpers' nice value (Linux keeps one per thread) lets the request path win
//! those contests; the helpers still get every idle cycle, and a helper that falls behind
//! costs nothing but latency of its own work (an allocator that has not pre-faulted a page
//! leaves the writer to fault it in itself; a late dispatcher catches up in larger batches).
//! Measured (scratch runs, alternating in one process): 1 KiB single appends 0.76 instead of
//! 0.90 us each (8 rounds each), and 256 SYNC_FLUSH waiters 253k-290k instead of 212k-237k
//! msg/s (3 rounds each), the flusher's syncs no longer waiting for a core.

/// How much lower than the opening thread each helper runs (nice values, 0-19).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Helper {
    /// Creates, maps and pre-faults the next segment; its page zeroing is the heaviest helper work.
    Allocator,
    /// Builds ConsumeQueue and index entries; consumers wait for it, so it is lowered less.
    Dispatcher,
    /// Retention and disk-usage checks.
    Clean,
    /// Page-cache residency samples (hints only).
    PageCacheSampler,
}

impl Helper {
    pub const fn niceness(self) -> i32 {
        match self {
            Helper::Allocator | Helper::Clean | Helper::PageCacheSampler => 10,
            Helper::Dispatcher => 5,
        }
    }
}

/// Lower the calling thread's priority by `helper`'s niceness when `enabled`. Best effort: a
/// refused change leaves the thread at the priority it inherited (raising a nice value is
/// allowed to every process, so this only fails where a sandbox forbids setpriority).
pub fn lower_current_thread(helper: Helper, enabled: bool) {
    if !enabled {
        return;
    }
    if let Some(current) = current_thread_nice() {
        // SAFETY: a plain system call naming the calling thread; no memory is passed.
        let _ = unsafe {
            libc::setpriority(
                libc::PRIO_PROCESS,
                current_tid(),
                (current + helper.niceness()).min(19),
            )
        };
    }
}

/// The calling thread's nice value, or None where the kernel refuses to say.
pub fn current_thread_nice() -> Option<i32> {
    // getpriority returns the nice value itself, so -1 is both a valid answer and the error
    // marker: errno tells them apart.
    // SAFETY: errno is thread-local; these calls read and write only it and the kernel's state.
    unsafe {
        *libc::__errno_location() = 0;
        let nice = libc::getpriority(libc::PRIO_PROCESS, current_tid());
        (nice != -1 || *libc::__errno_location() == 0).then_some(nice)
    }
}

fn current_tid() -> libc::id_t {
    // SAFETY: gettid has no preconditions and cannot fail.
    let tid = unsafe { libc::gettid() };
    tid as libc::id_t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nice value of a new thread after it asked to be lowered as `helper` (or not).
    fn nice_after_lowering(helper: Helper, enabled: bool) -> Option<i32> {
        std::thread::spawn(move || {
            lower_current_thread(helper, enabled);
            current_thread_nice()
        })
        .join()
        .unwrap()
    }

    #[test]
    fn a_helper_thread_runs_at_its_lower_priority_and_the_caller_is_untouched() {
        let before = current_thread_nice().expect("nice");
        assert_eq!(nice_after_lowering(Helper::Allocator, true), Some((before + Helper::Allocator.niceness()).min(19)));
        assert_eq!(current_thread_nice(), Some(before));
    }

    #[test]
    fn a_disabled_lowering_leaves_the_thread_at_its_inherited_priority() {
        let before = current_thread_nice().expect("nice");
        assert_eq!(nice_after_lowering(Helper::Dispatcher, false), Some(before));
    }
}
