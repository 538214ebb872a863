//! Property test: random inserts, flush-and-reopen cycles and windowed queries against a model
//! that knows which file each key landed in, with few slots (long shared chains) and keys
//! whose Java hashes collide ("Aa"/"BB").

use bolide_store::index_file::{IndexConfig, IndexService};
use bolide_store::java_hash::index_key_hash;
use proptest::prelude::*;

const KEYS: [&str; 6] = ["T#Aa", "T#BB", "T#k1", "T#k2", "T#k3", "polygenelubricants"];
const ENTRIES: u32 = 7; // 6 keys per file
const T0: i64 = 1_700_000_000_000;

#[derive(Clone, Debug)]
enum Op {
    Put {
        key: usize,
        delay_ms: i64,
    },
    FlushAndReopen,
    Query {
        key: usize,
        begin_ms: i64,
        len_ms: i64,
        max: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..KEYS.len(), 0..2500_i64).prop_map(|(key, delay_ms)| Op::Put { key, delay_ms }),
        1 => Just(Op::FlushAndReopen),
        3 => (0..KEYS.len(), 0..40_000_i64, 0..20_000_i64, 1..8_usize)
            .prop_map(|(key, begin_ms, len_ms, max)| Op::Query { key, begin_ms, len_ms, max }),
    ]
}

struct Record {
    key_hash: i32,
    phys_offset: i64,
    store_ts_ms: i64,
}

/// Records grouped by file, oldest first.
#[derive(Default)]
struct Model {
    files: Vec<Vec<Record>>,
}

impl Model {
    fn put(&mut self, record: Record) {
        let has_room = matches!(self.files.last(), Some(f) if (f.len() as u32) < ENTRIES - 1);
        if !has_room {
            self.files.push(Vec::new());
        }
        self.files.last_mut().expect("a file").push(record);
    }

    fn query(&self, key: &str, begin_ms: i64, end_ms: i64, max: usize) -> Vec<i64> {
        let key_hash = index_key_hash(key);
        let mut found = Vec::new();
        for file in self.files.iter().rev() {
            let (Some(first), Some(last)) = (file.first(), file.last()) else {
                continue;
            };
            if first.store_ts_ms > end_ms || last.store_ts_ms < begin_ms {
                continue;
            }
            for record in file.iter().rev() {
                let seconds = (record.store_ts_ms - first.store_ts_ms) / 1000;
                let time_ms = first.store_ts_ms + seconds * 1000;
                let in_window = time_ms <= end_ms && time_ms + 999 >= begin_ms;
                if record.key_hash == key_hash && in_window && found.len() < max {
                    found.push(record.phys_offset);
                }
            }
        }
        found
    }
}

fn open(root: &std::path::Path) -> IndexService {
    let config = IndexConfig {
        max_hash_slots: 3,
        max_index_entries: ENTRIES,
    };
    IndexService::open(root, config).expect("open")
}

/// 128 cases by default; `PROPTEST_CASES` overrides.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn index_matches_model(ops in proptest::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut service = open(dir.path());
        let mut model = Model::default();
        let (mut now_ms, mut phys_offset) = (T0, 0);
        for op in ops {
            match op {
                Op::Put { key, delay_ms } => {
                    now_ms += delay_ms;
                    phys_offset += 100;
                    prop_assert!(service.put_key(KEYS[key], phys_offset, now_ms).expect("put"));
                    let key_hash = index_key_hash(KEYS[key]);
                    model.put(Record { key_hash, phys_offset, store_ts_ms: now_ms });
                }
                Op::FlushAndReopen => {
                    service.flush().expect("flush");
                    drop(service);
                    service = open(dir.path());
                }
                Op::Query { key, begin_ms, len_ms, max } => {
                    let (begin, end) = (T0 + begin_ms, T0 + begin_ms + len_ms);
                    let found = service.query(KEYS[key], max, begin, end);
                    prop_assert_eq!(found, model.query(KEYS[key], begin, end, max));
                }
            }
            prop_assert_eq!(service.file_count(), model.files.len());
        }
    }
}
