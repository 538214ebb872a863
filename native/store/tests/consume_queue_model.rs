//! Property test: random puts, commits, reopens, retention and recovery truncations against a
//! simple in-memory model of the files, entries and min/max offsets of three queues.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use bolide_store::consume_queue::{ConsumeQueueConfig, ConsumeQueueStore, CqEntry};
use proptest::prelude::*;

const TOPIC: &str = "T";
const QUEUES: usize = 3;
const ENTRIES_PER_FILE: i64 = 4;
const RECORD_SIZE: i32 = 100;

#[derive(Clone, Debug)]
enum Op {
    Append { queue: usize, count: u8 },
    Commit,
    Reopen,
    DeleteExpired { percent: u8 },
    TruncateDirty { percent: u8 },
    Restart { queue: usize, skip: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0..QUEUES, 1..7_u8).prop_map(|(queue, count)| Op::Append { queue, count }),
        3 => Just(Op::Commit),
        1 => Just(Op::Reopen),
        1 => (0..=100_u8).prop_map(|percent| Op::DeleteExpired { percent }),
        1 => (0..=100_u8).prop_map(|percent| Op::TruncateDirty { percent }),
        1 => (0..QUEUES, 1..6_u8).prop_map(|(queue, skip)| Op::Restart { queue, skip }),
    ]
}

#[derive(Default)]
struct ModelQueue {
    files: BTreeSet<i64>,
    entries: BTreeMap<i64, CqEntry>,
    staged: Vec<(i64, CqEntry)>,
    min: i64,
    max: i64,
}

fn file_start(offset: i64) -> i64 {
    offset - offset % ENTRIES_PER_FILE
}

impl ModelQueue {
    fn next(&self) -> i64 {
        self.max + self.staged.len() as i64
    }

    fn commit(&mut self) -> bool {
        let grew = !self.staged.is_empty();
        for (offset, entry) in self.staged.drain(..) {
            self.entries.insert(offset, entry);
            self.files.insert(file_start(offset));
            self.max = self.max.max(offset + 1);
        }
        grew
    }

    fn restart(&mut self, offset: i64) {
        self.files.clear();
        self.entries.clear();
        (self.min, self.max) = (offset, offset);
    }

    fn reopen(&mut self) {
        self.staged.clear();
        let Some(&first) = self.files.first() else {
            (self.min, self.max) = (0, 0);
            return;
        };
        let in_first = self.entries.range(first..first + ENTRIES_PER_FILE).next();
        // An empty queue that kept no entry on disk restarts at its first file's start.
        (self.min, self.max) = match in_first {
            Some((&offset, _)) => (offset, self.max),
            None => (first, first),
        };
        let max = self.max;
        self.files.retain(|&f| f == first || f < max);
    }

    fn delete_expired(&mut self, threshold: i64) -> usize {
        if self.max == 0 {
            return 0;
        }
        let expired = |q: &Self, offset: i64| q.entries[&offset].commit_log_offset < threshold;
        let last_file = file_start(self.max - 1);
        let Some(&first_file) = self.files.first() else {
            return 0;
        };
        let mut file = first_file;
        let mut deleted = 0;
        while file < last_file && file + ENTRIES_PER_FILE <= self.min {
            file += ENTRIES_PER_FILE;
            deleted += 1;
        }
        if self.max > self.min && expired(self, self.min) {
            while file < last_file && expired(self, file + ENTRIES_PER_FILE - 1) {
                file += ENTRIES_PER_FILE;
                deleted += 1;
            }
            let mut min = self.min.max(file);
            while min < self.max && expired(self, min) {
                min += 1;
            }
            self.min = min;
        }
        self.files.retain(|&f| f >= file);
        self.entries.retain(|&offset, _| offset >= file);
        deleted
    }

    fn truncate_dirty(&mut self, threshold: i64) -> u64 {
        self.staged.clear();
        let dirty = |entry: &CqEntry| entry.end_offset() > threshold;
        let first_dirty = (self.min..self.max).find(|offset| dirty(&self.entries[offset]));
        let Some(new_max) = first_dirty else { return 0 };
        let dropped = (self.max - new_max) as u64;
        self.entries.retain(|&offset, _| offset < new_max);
        self.files.retain(|&f| f <= file_start(new_max));
        self.max = new_max;
        dropped
    }
}

struct Harness {
    root: tempfile::TempDir,
    store: Option<ConsumeQueueStore>,
    model: Vec<ModelQueue>,
    next_commit_log_offset: i64,
}

fn open(root: &Path) -> ConsumeQueueStore {
    let config = ConsumeQueueConfig {
        entries_per_file: ENTRIES_PER_FILE as u32,
        open_files_max: 2,
        ..ConsumeQueueConfig::default()
    };
    ConsumeQueueStore::open(root, config).expect("open")
}

impl Harness {
    fn new() -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        let store = Some(open(root.path()));
        let model = (0..QUEUES).map(|_| ModelQueue::default()).collect();
        Self {
            root,
            store,
            model,
            next_commit_log_offset: 0,
        }
    }

    fn store(&self) -> &ConsumeQueueStore {
        self.store.as_ref().expect("store is open")
    }

    fn threshold(&self, percent: u8) -> i64 {
        self.next_commit_log_offset * i64::from(percent) / 100
    }

    fn new_entry(&mut self, offset: i64) -> CqEntry {
        let commit_log_offset = self.next_commit_log_offset;
        self.next_commit_log_offset += i64::from(RECORD_SIZE);
        CqEntry {
            commit_log_offset,
            size: RECORD_SIZE,
            tags_code: offset % 3,
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Append { queue, count } => {
                for _ in 0..count {
                    let offset = self.model[queue].next();
                    let entry = self.new_entry(offset);
                    self.store()
                        .put(TOPIC, queue as i32, offset, entry)
                        .expect("put");
                    self.model[queue].staged.push((offset, entry));
                }
            }
            Op::Commit => {
                let grown = self.store().commit_batch().expect("commit");
                let mut ids: Vec<i32> = grown.iter().map(|g| g.queue_id).collect();
                ids.sort_unstable();
                let expected: Vec<i32> = (self.model.iter_mut().enumerate())
                    .filter_map(|(id, q)| q.commit().then_some(id as i32))
                    .collect();
                assert_eq!(ids, expected);
            }
            Op::Reopen => {
                self.store = None;
                self.store = Some(open(self.root.path()));
                self.model.iter_mut().for_each(ModelQueue::reopen);
            }
            Op::DeleteExpired { percent } => {
                let threshold = self.threshold(percent);
                let deleted = self
                    .store()
                    .delete_expired(threshold)
                    .expect("delete_expired");
                let expected: usize = self
                    .model
                    .iter_mut()
                    .map(|q| q.delete_expired(threshold))
                    .sum();
                assert_eq!(deleted, expected);
            }
            Op::TruncateDirty { percent } => {
                let threshold = self.threshold(percent);
                let dropped = self
                    .store()
                    .truncate_dirty(threshold)
                    .expect("truncate_dirty");
                let expected: u64 = self
                    .model
                    .iter_mut()
                    .map(|q| q.truncate_dirty(threshold))
                    .sum();
                assert_eq!(dropped, expected);
            }
            Op::Restart { queue, skip } => self.restart(queue, i64::from(skip)),
        }
    }

    fn restart(&mut self, queue: usize, skip: i64) {
        let model = &self.model[queue];
        let offset = model.next() + skip;
        let allowed = model.min == model.max && model.staged.is_empty();
        let entry = self.new_entry(offset);
        let result = self.store().put(TOPIC, queue as i32, offset, entry);
        if allowed {
            result.expect("restart of an empty queue");
            self.model[queue].restart(offset);
            self.model[queue].staged.push((offset, entry));
        } else {
            assert_eq!(result.expect_err("gap").code(), "QUEUE_OFFSET_GAP");
        }
    }

    fn check(&self) {
        let store = self.store();
        for (id, model) in self.model.iter().enumerate() {
            let id32 = id as i32;
            let bounds = (store.min_offset(TOPIC, id32), store.max_offset(TOPIC, id32));
            assert_eq!(bounds, (model.min, model.max), "queue {id} bounds");
            let mut offset = model.min;
            while offset < model.max {
                let entries = store.read(TOPIC, id32, offset, 3).expect("read");
                assert!(!entries.is_empty());
                for entry in entries {
                    assert_eq!(
                        Some(&entry),
                        model.entries.get(&offset),
                        "queue {id} @{offset}"
                    );
                    offset += 1;
                }
            }
            assert!(store
                .read(TOPIC, id32, model.max, 3)
                .expect("read at max")
                .is_empty());
        }
    }
}

/// 96 cases by default; `PROPTEST_CASES` overrides.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn store_matches_model(ops in proptest::collection::vec(op(), 1..48)) {
        let mut harness = Harness::new();
        for op in &ops {
            harness.apply(op);
            harness.check();
        }
        harness.apply(&Op::Commit);
        harness.apply(&Op::Reopen);
        harness.check();
    }
}
