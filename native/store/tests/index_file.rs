//! IndexFile behaviour through the public API, with tiny slot and entry counts so chains
//! collide and files roll over.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use bolide_store::index_file::{IndexConfig, IndexService};
use bolide_store::java_hash::{index_key_hash, java_string_hash};

/// 2023-11-14T22:13:20.123Z
const T0: i64 = 1_700_000_000_123;

fn config(max_hash_slots: u32, max_index_entries: u32) -> IndexConfig {
    IndexConfig {
        max_hash_slots,
        max_index_entries,
    }
}

fn names(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn key(i: i64) -> String {
    format!("TopicTest#KEY{i}")
}

fn all_time(service: &IndexService, key: &str) -> Vec<i64> {
    service.query(key, 64, 0, i64::MAX)
}

#[test]
fn put_and_query_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = IndexService::open(dir.path(), config(97, 1000)).expect("open");
    assert_eq!(service.last_indexed_phys_offset(), None);
    assert!(all_time(&service, &key(1)).is_empty());
    for i in 0..200 {
        assert!(service.put_key(&key(i), i * 100, T0 + i * 10).expect("put"));
    }
    for i in 0..200 {
        assert_eq!(all_time(&service, &key(i)), vec![i * 100], "key {i}");
    }
    assert!(all_time(&service, "TopicTest#missing").is_empty());
    assert_eq!(service.last_indexed_phys_offset(), Some(199 * 100));
    assert_eq!(
        names(dir.path()),
        ["20231114221320123"],
        "named after the first key's time"
    );
}

#[test]
fn chains_survive_a_single_slot_and_return_newest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = IndexService::open(dir.path(), config(1, 100)).expect("open");
    for i in 0..30 {
        service.put_key(&key(i % 3), i * 100, T0 + i).expect("put");
    }
    let expected: Vec<i64> = (0..30)
        .rev()
        .filter(|i| i % 3 == 1)
        .map(|i| i * 100)
        .collect();
    assert_eq!(all_time(&service, &key(1)), expected);
    assert_eq!(
        service.query(&key(1), 3, 0, i64::MAX),
        expected[..3].to_vec()
    );
    assert!(service.query(&key(1), 0, 0, i64::MAX).is_empty());
}

#[test]
fn hash_collisions_are_returned_for_the_caller_to_recheck() {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = IndexService::open(dir.path(), config(16, 100)).expect("open");
    assert_eq!(java_string_hash("T#Aa"), java_string_hash("T#BB"));
    service.put_key("T#Aa", 100, T0).expect("put");
    service.put_key("T#BB", 200, T0).expect("put");
    assert_eq!(all_time(&service, "T#Aa"), vec![200, 100]);
    // "polygenelubricants" hashes to i32::MIN, whose key hash is 0.
    assert_eq!(index_key_hash("polygenelubricants"), 0);
    service.put_key("polygenelubricants", 300, T0).expect("put");
    assert_eq!(all_time(&service, "polygenelubricants"), vec![300]);
}

#[test]
fn time_window_is_checked_at_second_granularity_without_false_negatives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = IndexService::open(dir.path(), config(4, 100)).expect("open");
    let base = 1_000_000;
    for (phys, ts) in [(100, base), (200, base + 10_400), (300, base + 20_000)] {
        service.put_key("T#k", phys, ts).expect("put");
    }
    assert_eq!(
        service.query("T#k", 10, base + 5_000, base + 15_000),
        vec![200]
    );
    assert_eq!(
        service.query("T#k", 10, base + 10_300, base + 10_300),
        vec![200]
    );
    assert_eq!(
        service.query("T#k", 10, base + 11_000, base + 19_999),
        Vec::<i64>::new()
    );
    assert_eq!(
        service.query("T#k", 10, base, base + 20_000),
        vec![300, 200, 100]
    );
    assert!(
        service.query("T#k", 10, base + 30_000, i64::MAX).is_empty(),
        "after the file"
    );
    assert!(
        service.query("T#k", 10, 0, base - 1_000).is_empty(),
        "before the file"
    );
}

#[test]
fn rolls_to_a_new_file_when_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 5 entries per file, entry 0 unused: 4 keys per file.
    let service = IndexService::open(dir.path(), config(3, 5)).expect("open");
    for i in 0..10 {
        service.put_key(&key(i), i * 100, T0).expect("put");
    }
    assert_eq!(service.file_count(), 3);
    let names = names(dir.path());
    assert_eq!(
        names,
        [
            "20231114221320123",
            "20231114221320124",
            "20231114221320125"
        ]
    );
    let file_size = fs::metadata(dir.path().join(&names[0]))
        .expect("meta")
        .len();
    assert_eq!(file_size, 40 + 3 * 4 + 5 * 20);
    for i in 0..10 {
        assert_eq!(all_time(&service, &key(i)), vec![i * 100]);
    }
    service.put_key(&key(1), 1000, T0 + 5).expect("put");
    assert_eq!(
        all_time(&service, &key(1)),
        vec![1000, 100],
        "newest file first"
    );
}

#[test]
fn flushed_header_and_entries_have_the_rocketmq_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = IndexService::open(dir.path(), config(7, 10)).expect("open");
    service.put_key("T#a", 4096, T0).expect("put");
    service.put_key("T#a", 8192, T0 + 2_500).expect("put");
    service.flush().expect("flush");
    let bytes = fs::read(dir.path().join(&names(dir.path())[0])).expect("read");
    let i64_at = |at: usize| i64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let i32_at = |at: usize| i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    assert_eq!(
        (i64_at(0), i64_at(8)),
        (T0, T0 + 2_500),
        "begin/end timestamp"
    );
    assert_eq!(
        (i64_at(16), i64_at(24)),
        (4096, 8192),
        "begin/end phy offset"
    );
    assert_eq!(
        (i32_at(32), i32_at(36)),
        (1, 3),
        "hashSlotCount, indexCount"
    );
    let hash = index_key_hash("T#a");
    let slot_at = 40 + (hash % 7) as usize * 4;
    assert_eq!(i32_at(slot_at), 2, "slot holds the newest entry number");
    let entry_at = |n: usize| 40 + 7 * 4 + n * 20;
    let (first, second) = (entry_at(1), entry_at(2));
    assert_eq!(
        (
            i32_at(first),
            i64_at(first + 4),
            i32_at(first + 12),
            i32_at(first + 16)
        ),
        (hash, 4096, 0, 0)
    );
    assert_eq!(
        (
            i32_at(second),
            i64_at(second + 4),
            i32_at(second + 12),
            i32_at(second + 16)
        ),
        (hash, 8192, 2, 1)
    );
    assert!(
        bytes[entry_at(0)..entry_at(1)].iter().all(|&b| b == 0),
        "entry 0 unused"
    );
}

#[test]
fn reopen_after_flush_keeps_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let service = IndexService::open(dir.path(), config(3, 5)).expect("open");
        for i in 0..6 {
            service
                .put_key(&key(i), i * 100, T0 + i * 1000)
                .expect("put");
        }
        service.flush().expect("flush");
    }
    let service = IndexService::open(dir.path(), config(3, 5)).expect("reopen");
    assert_eq!(service.file_count(), 2);
    assert_eq!(service.last_indexed_phys_offset(), Some(500));
    for i in 0..6 {
        assert_eq!(all_time(&service, &key(i)), vec![i * 100]);
    }
    assert!(!service
        .put_key(&key(9), 400, T0)
        .expect("below last indexed"));
    assert!(service
        .put_key(&key(9), 500, T0)
        .expect("same record, another key"));
    assert!(service.put_key(&key(9), 600, T0).expect("put"));
    assert_eq!(all_time(&service, &key(9)), vec![600, 500]);
}

#[test]
fn reopen_without_flush_repairs_slots_and_keeps_flushed_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        // One slot: every key shares one chain, so an unflushed insert moves the slot head.
        let service = IndexService::open(dir.path(), config(1, 100)).expect("open");
        service.put_key("T#flushed", 100, T0).expect("put");
        service.flush().expect("flush");
        service.put_key("T#unflushed", 200, T0 + 1000).expect("put");
        // Dropped without flush: the slot (in the page cache) points past the durable count.
    }
    let service = IndexService::open(dir.path(), config(1, 100)).expect("reopen");
    assert_eq!(all_time(&service, "T#flushed"), vec![100], "chain repaired");
    assert!(all_time(&service, "T#unflushed").is_empty());
    assert_eq!(service.last_indexed_phys_offset(), Some(100));
    service
        .put_key("T#unflushed", 200, T0 + 1000)
        .expect("re-dispatch");
    assert_eq!(all_time(&service, "T#unflushed"), vec![200]);
    assert_eq!(all_time(&service, "T#flushed"), vec![100]);
    service.flush().expect("flush");
}

#[test]
fn reopen_of_a_never_flushed_file_is_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let service = IndexService::open(dir.path(), config(4, 10)).expect("open");
        service.put_key("T#a", 100, T0).expect("put");
    }
    let service = IndexService::open(dir.path(), config(4, 10)).expect("reopen");
    assert_eq!(service.file_count(), 1);
    assert_eq!(service.last_indexed_phys_offset(), None);
    assert!(all_time(&service, "T#a").is_empty());
    assert_eq!(
        service.truncate_after(0).expect("truncate"),
        None,
        "empty file removed"
    );
    assert_eq!(service.file_count(), 0);
}

#[test]
fn truncate_after_deletes_files_past_the_commit_log_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = IndexService::open(dir.path(), config(3, 5)).expect("open");
    for i in 0..10 {
        service.put_key(&key(i), i * 100, T0).expect("put"); // files: 0-300, 400-700, 800-900
    }
    assert_eq!(
        service.truncate_after(1000).expect("nothing past 1000"),
        None
    );
    assert_eq!(service.truncate_after(900).expect("truncate"), Some(800));
    assert_eq!(service.file_count(), 2);
    assert_eq!(service.truncate_after(650).expect("truncate"), Some(400));
    assert_eq!(names(dir.path()).len(), 1);
    assert_eq!(service.last_indexed_phys_offset(), Some(300));
    assert!(all_time(&service, &key(5)).is_empty());
    for i in 4..7 {
        service.put_key(&key(i), i * 100, T0).expect("re-index");
    }
    assert_eq!(all_time(&service, &key(5)), vec![500]);
    assert_eq!(all_time(&service, &key(2)), vec![200]);
}

#[test]
fn delete_expired_keeps_the_newest_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = IndexService::open(dir.path(), config(3, 5)).expect("open");
    for i in 0..10 {
        service.put_key(&key(i), i * 100, T0).expect("put"); // files end at 300, 700, 900
    }
    assert_eq!(service.delete_expired(300).expect("none below 300"), 0);
    assert_eq!(service.delete_expired(301).expect("first file"), 1);
    assert!(all_time(&service, &key(1)).is_empty());
    assert_eq!(all_time(&service, &key(4)), vec![400]);
    assert_eq!(service.delete_expired(i64::MAX).expect("all but newest"), 1);
    assert_eq!(service.file_count(), 1);
    assert_eq!(all_time(&service, &key(9)), vec![900]);
    service.flush().expect("flush");
    assert_eq!(names(dir.path()).len(), 1);
}

#[test]
fn refuses_bad_input_and_mismatched_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = IndexService::open(dir.path(), config(3, 5)).expect("open");
    assert_eq!(
        service.put_key("T#a", -1, T0).expect_err("negative").code(),
        "INVALID_ARGUMENT"
    );
    service.put_key("T#a", 1, T0).expect("put");
    service.flush().expect("flush");
    drop(service);
    let error = IndexService::open(dir.path(), config(3, 6)).expect_err("size mismatch");
    assert_eq!(error.code(), "CORRUPT_FILE");
    let error = IndexService::open(dir.path(), config(0, 5)).expect_err("bad config");
    assert_eq!(error.code(), "INVALID_ARGUMENT");
    let error = IndexService::open(dir.path(), config(3, 1)).expect_err("bad config");
    assert_eq!(error.code(), "INVALID_ARGUMENT");
}

#[test]
fn queries_run_while_keys_are_inserted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = Arc::new(IndexService::open(dir.path(), config(31, 500)).expect("open"));
    let reader = {
        let service = Arc::clone(&service);
        std::thread::spawn(move || {
            for round in 0..2000_i64 {
                let i = round % 1000;
                let found = all_time(&service, &key(i));
                assert!(
                    found.is_empty() || found == vec![i * 100],
                    "key {i}: {found:?}"
                );
            }
        })
    };
    for i in 0..1000 {
        service.put_key(&key(i), i * 100, T0 + i).expect("put");
        if i % 100 == 0 {
            service.flush().expect("flush");
        }
    }
    reader.join().expect("reader");
    assert_eq!(service.file_count(), 3);
    assert_eq!(all_time(&service, &key(999)), vec![99_900]);
}

#[test]
fn service_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<IndexService>();
}
