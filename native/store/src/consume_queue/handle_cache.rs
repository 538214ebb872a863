//! A bounded least-recently-used cache of open ConsumeQueue file handles.
//!
//! 10,000 topics × 8 queues is 80,000 queue directories, more than the open-file limit, so
//! handles are opened on demand and the least recently used one is closed when the cache is
//! full. A handle is an `Arc<File>`: evicting it never invalidates a caller that is still in
//! the middle of a `pread`/`pwrite`, the descriptor is closed when the last clone is dropped.
//! Lookups and inserts are O(log n); eviction happens only on a miss.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Identifies one file of one queue. `epoch` changes whenever files of the queue are deleted,
/// so a handle of a deleted file can never be mistaken for the handle of a file re-created
/// under the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct FileKey {
    pub queue_uid: u64,
    pub epoch: u64,
    pub file_start: i64,
}

pub(super) struct HandleCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    tick: u64,
    map: HashMap<FileKey, (Arc<File>, u64)>,
    /// Last-use tick → key; the first entry is the least recently used.
    order: BTreeMap<u64, FileKey>,
}

impl HandleCache {
    pub(super) fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "handle cache capacity must be positive");
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Returns the cached handle for `key`, marking it most recently used.
    pub(super) fn get(&self, key: &FileKey) -> Option<Arc<File>> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let tick = inner.next_tick();
        let (file, last_used) = inner.map.get_mut(key)?;
        inner.order.remove(last_used);
        *last_used = tick;
        inner.order.insert(tick, *key);
        Some(Arc::clone(file))
    }

    /// Caches `file` under `key` and returns the cached handle. If another thread cached the
    /// same key first, that handle wins and `file` is closed.
    pub(super) fn insert(&self, key: FileKey, file: File) -> Arc<File> {
        let mut inner = self.lock();
        if let Some((existing, _)) = inner.map.get(&key) {
            return Arc::clone(existing);
        }
        while inner.map.len() >= self.capacity {
            inner.evict_oldest();
        }
        let tick = inner.next_tick();
        let file = Arc::new(file);
        inner.map.insert(key, (Arc::clone(&file), tick));
        inner.order.insert(tick, key);
        file
    }

    /// Closes every cached handle of the queue `queue_uid` (all epochs).
    pub(super) fn remove_queue(&self, queue_uid: u64) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let order = &mut inner.order;
        inner.map.retain(|key, (_, last_used)| {
            let keep = key.queue_uid != queue_uid;
            if !keep {
                order.remove(last_used);
            }
            keep
        });
    }

    /// Number of cached handles (for tests and metrics).
    pub(super) fn len(&self) -> usize {
        self.lock().map.len()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The cache holds no invariant a panicking thread could break half-way that matters
        // for correctness (at worst a handle is leaked until eviction), so poison is ignored.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    fn evict_oldest(&mut self) {
        match self.order.pop_first() {
            Some((_, key)) => {
                self.map.remove(&key);
            }
            // Map and order always hold the same keys; an empty order means an empty map.
            None => self.map.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(queue_uid: u64, file_start: i64) -> FileKey {
        FileKey {
            queue_uid,
            epoch: 0,
            file_start,
        }
    }

    fn temp_file() -> File {
        tempfile::tempfile().expect("tempfile")
    }

    #[test]
    fn evicts_least_recently_used() {
        let cache = HandleCache::new(2);
        cache.insert(key(1, 0), temp_file());
        cache.insert(key(2, 0), temp_file());
        assert!(cache.get(&key(1, 0)).is_some()); // 2 is now the oldest
        cache.insert(key(3, 0), temp_file());
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&key(2, 0)).is_none());
        assert!(cache.get(&key(1, 0)).is_some());
        assert!(cache.get(&key(3, 0)).is_some());
    }

    #[test]
    fn first_insert_wins_and_remove_queue_drops_all_files() {
        let cache = HandleCache::new(8);
        let first = cache.insert(key(1, 0), temp_file());
        let second = cache.insert(key(1, 0), temp_file());
        assert!(Arc::ptr_eq(&first, &second));
        cache.insert(key(1, 4), temp_file());
        cache.insert(key(2, 0), temp_file());
        cache.remove_queue(1);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&key(2, 0)).is_some());
        let inner = cache.lock();
        assert_eq!(inner.order.len(), inner.map.len());
    }
}
