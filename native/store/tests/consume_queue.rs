//! ConsumeQueue behaviour through the public API: writes, reads, filters, concurrency.
//! Small `entries_per_file` values put file boundaries everywhere.

mod common;

use std::fs::{self, OpenOptions};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bolide_store::consume_queue::{
    BoundaryType, ConsumeQueueConfig, ConsumeQueueError, ConsumeQueueStore, CqEntry, QueueGrowth,
    CQ_ENTRY_SIZE,
};
use common::*;

#[test]
fn entry_codec_is_big_endian_20_bytes() {
    let e = CqEntry {
        commit_log_offset: 0x0102_0304_0506_0708,
        size: 0x0A0B_0C0D,
        tags_code: -2,
    };
    let bytes = e.encode();
    assert_eq!(bytes.len(), CQ_ENTRY_SIZE);
    assert_eq!(&bytes[0..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(&bytes[8..12], &[0x0A, 0x0B, 0x0C, 0x0D]);
    assert_eq!(
        &bytes[12..20],
        &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE]
    );
    assert_eq!(CqEntry::decode(&bytes), e);
}

#[test]
fn round_trip_across_file_boundaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("open");
    put_range(&store, 0, 0..10);
    assert_eq!(
        store.max_offset(TOPIC, 0),
        0,
        "nothing is visible before commit"
    );
    let grown = store.commit_batch().expect("commit");
    let expected = QueueGrowth {
        topic: TOPIC.into(),
        queue_id: 0,
        max_offset: 10,
    };
    assert_eq!(grown, vec![expected]);
    assert_eq!(store.min_offset(TOPIC, 0), 0);
    assert_eq!(store.max_offset(TOPIC, 0), 10);
    for from in 0..10 {
        let chunk = store.read(TOPIC, 0, from, 100).expect("read");
        let file_end = (from / 4 + 1) * 4;
        assert_eq!(
            chunk.len() as i64,
            file_end.min(10) - from,
            "read stops at file end"
        );
        assert_eq!(chunk[0], entry(from));
    }
    assert_eq!(
        store.read(TOPIC, 0, 1, 2).expect("read"),
        vec![entry(1), entry(2)]
    );
    assert!(store.read(TOPIC, 0, 10, 5).expect("read at max").is_empty());
    assert!(store
        .read(TOPIC, 0, 99, 5)
        .expect("read past max")
        .is_empty());
    assert!(store
        .read("Unknown", 0, 0, 5)
        .expect("unknown queue")
        .is_empty());
    let names = file_names(dir.path(), 0);
    assert_eq!(
        names,
        [
            "00000000000000000000",
            "00000000000000000080",
            "00000000000000000160"
        ]
    );
    let file = queue_dir(dir.path(), 0).join("00000000000000000080");
    assert_eq!(
        fs::read(file).expect("read file"),
        (4..8).flat_map(|i| entry(i).encode()).collect::<Vec<_>>()
    );
    store.flush().expect("flush");
    assert_eq!(store.commit_batch().expect("empty commit"), vec![]);
}

#[test]
fn commit_reports_each_grown_queue_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("open");
    put_range(&store, 3, 0..2);
    put_range(&store, 1, 0..5);
    put_range(&store, 3, 2..3);
    let grown = store.commit_batch().expect("commit");
    let queues: Vec<(i32, i64)> = grown.iter().map(|g| (g.queue_id, g.max_offset)).collect();
    assert_eq!(queues, vec![(3, 3), (1, 5)]);
    assert_eq!(
        store.queues(),
        vec![(TOPIC.to_string(), 1), (TOPIC.to_string(), 3)]
    );
}

#[test]
fn rewrites_are_idempotent_and_gaps_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("open");
    put_range(&store, 0, 0..6);
    store.commit_batch().expect("commit");
    put_range(&store, 0, 2..6); // re-dispatch after a crash
    assert_eq!(store.commit_batch().expect("rewrite"), vec![]);
    put_range(&store, 0, 3..8); // overlapping re-dispatch that also grows the queue
    assert_eq!(store.commit_batch().expect("grow")[0].max_offset, 8);
    assert_eq!(
        read_all(&store, 0, 0),
        (0..8).map(entry).collect::<Vec<_>>()
    );
    let error = store.put(TOPIC, 0, 9, entry(9)).expect_err("gap");
    assert_eq!(error.code(), "QUEUE_OFFSET_GAP");
    assert!(matches!(
        error,
        ConsumeQueueError::QueueOffsetGap { expected: 8, .. }
    ));
    store.put(TOPIC, 0, 8, entry(8)).expect("staged next");
    store.put(TOPIC, 0, 9, entry(9)).expect("after staged next");
    assert_eq!(store.commit_batch().expect("commit")[0].max_offset, 10);
}

#[test]
fn empty_queue_restarts_at_a_later_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("open");
        put_range(&store, 0, 5..7); // first entries of a queue whose prefix expired
        assert_eq!(store.commit_batch().expect("commit")[0].max_offset, 7);
        assert_eq!(store.min_offset(TOPIC, 0), 5);
        let error = store.read(TOPIC, 0, 4, 1).expect_err("below min");
        assert_eq!(error.code(), "OFFSET_TOO_SMALL");
        assert_eq!(
            store.read(TOPIC, 0, 5, 9).expect("read"),
            vec![entry(5), entry(6)]
        );
    }
    let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("reopen");
    assert_eq!(
        (store.min_offset(TOPIC, 0), store.max_offset(TOPIC, 0)),
        (5, 7),
        "leading hole"
    );
    // Expire everything: the queue is empty (min == max == 7) but keeps its last file.
    assert_eq!(store.delete_expired(700).expect("expire"), 0);
    assert_eq!(
        (store.min_offset(TOPIC, 0), store.max_offset(TOPIC, 0)),
        (7, 7)
    );
    put_range(&store, 0, 13..14);
    store.commit_batch().expect("restart");
    assert_eq!(
        (store.min_offset(TOPIC, 0), store.max_offset(TOPIC, 0)),
        (13, 14)
    );
    assert_eq!(file_names(dir.path(), 0), ["00000000000000000240"]);
    drop(store);
    let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("reopen");
    assert_eq!(
        (store.min_offset(TOPIC, 0), store.max_offset(TOPIC, 0)),
        (13, 14)
    );
}

#[test]
fn handle_cache_smaller_than_queue_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = ConsumeQueueConfig {
        entries_per_file: 4,
        open_files_max: 64,
        ..Default::default()
    };
    let store = ConsumeQueueStore::open(dir.path(), cfg).expect("open");
    for round in 0..3 {
        for queue_id in 0..2000 {
            put_range(&store, queue_id, round * 2..round * 2 + 2);
        }
        assert_eq!(store.commit_batch().expect("commit").len(), 2000);
        assert!(store.open_file_count() <= 64);
    }
    store.flush().expect("flush");
    for queue_id in (0..2000).step_by(7) {
        assert_eq!(
            read_all(&store, queue_id, 0),
            (0..6).map(entry).collect::<Vec<_>>()
        );
    }
    assert!(store.open_file_count() <= 64);
}

#[test]
fn concurrent_reader_never_sees_absent_entries() {
    const TOTAL: i64 = 20_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(ConsumeQueueStore::open(dir.path(), config(64)).expect("open"));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (store, done) = (Arc::clone(&store), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut next = 0;
                while next < TOTAL {
                    let entries = store.read(TOPIC, 0, next, 50).expect("read");
                    assert!(next + entries.len() as i64 <= store.max_offset(TOPIC, 0));
                    if entries.is_empty() {
                        assert!(!done.load(Ordering::Acquire), "writer done, reader behind");
                        std::thread::yield_now();
                    }
                    for e in entries {
                        assert!(e.is_present());
                        assert_eq!(e, entry(next));
                        next += 1;
                    }
                }
            })
        })
        .collect();
    let mut offset = 0;
    while offset < TOTAL {
        let end = (offset + 7).min(TOTAL);
        put_range(&store, 0, offset..end);
        store.commit_batch().expect("commit");
        offset = end;
    }
    done.store(true, Ordering::Release);
    for reader in readers {
        reader.join().expect("reader");
    }
}

#[test]
fn search_offset_by_time_lower_and_upper() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("open");
    put_range(&store, 0, 0..10);
    store.commit_batch().expect("commit");
    // Entry i was stored at 1000 + 10 * (i / 2): pairs share a timestamp. Entries 0 and 1
    // point below CommitLog offset 200 and are gone (None).
    let ts = |offset: i64, _size: i32| (offset >= 200).then(|| 1000 + 10 * (offset / 100 / 2));
    let search = |target, boundary| {
        store
            .search_offset_by_time(TOPIC, 0, target, ts, boundary)
            .expect("search")
    };
    assert_eq!(search(1010, BoundaryType::Lower), 2);
    assert_eq!(search(1010, BoundaryType::Upper), 3);
    assert_eq!(search(1015, BoundaryType::Lower), 4);
    assert_eq!(search(1015, BoundaryType::Upper), 3);
    assert_eq!(
        search(0, BoundaryType::Lower),
        2,
        "gone records count as oldest"
    );
    assert_eq!(search(0, BoundaryType::Upper), 1);
    assert_eq!(
        search(9999, BoundaryType::Lower),
        10,
        "all older: max offset"
    );
    assert_eq!(search(9999, BoundaryType::Upper), 9);
    let all_newer = |_: i64, _: i32| Some(5000);
    let upper = store.search_offset_by_time(TOPIC, 0, 10, all_newer, BoundaryType::Upper);
    assert_eq!(upper.expect("search"), 0, "all newer: min offset");
    let empty = store.search_offset_by_time("Empty", 0, 10, all_newer, BoundaryType::Lower);
    assert_eq!(empty.expect("search"), 0);
}

#[test]
fn read_filtered_matches_tags_and_reports_next_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("open");
    put_range(&store, 0, 0..20);
    store.commit_batch().expect("commit");
    let read = store
        .read_filtered(TOPIC, 0, 0, 100, 100, Some(&[2]))
        .expect("filter");
    let offsets: Vec<i64> = read.entries.iter().map(|e| e.queue_offset).collect();
    assert_eq!(
        offsets,
        vec![2, 5, 8, 11, 14, 17],
        "crosses file boundaries"
    );
    assert_eq!(read.next_offset, 20);
    assert!(read
        .entries
        .iter()
        .all(|e| e.entry == entry(e.queue_offset)));
    let limited = store
        .read_filtered(TOPIC, 0, 0, 2, 100, Some(&[2]))
        .expect("max entries");
    assert_eq!(limited.entries.len(), 2);
    assert_eq!(limited.next_offset, 6);
    let scan = store
        .read_filtered(TOPIC, 0, 3, 100, 4, Some(&[0, 1]))
        .expect("max scan");
    let offsets: Vec<i64> = scan.entries.iter().map(|e| e.queue_offset).collect();
    assert_eq!((offsets, scan.next_offset), (vec![3, 4, 6], 7));
    let all = store
        .read_filtered(TOPIC, 0, 18, 100, 100, None)
        .expect("no filter");
    assert_eq!((all.entries.len(), all.next_offset), (2, 20));
    let none = store
        .read_filtered(TOPIC, 0, 20, 100, 100, None)
        .expect("at max");
    assert_eq!((none.entries.len(), none.next_offset), (0, 20));
}

#[test]
fn delete_topic_removes_files_and_buffers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("open");
    put_range(&store, 0, 0..5);
    store.commit_batch().expect("commit");
    put_range(&store, 0, 5..6);
    assert!(store.delete_topic(TOPIC).expect("delete"));
    assert!(!dir.path().join(TOPIC).exists());
    assert_eq!(store.max_offset(TOPIC, 0), 0);
    assert_eq!(store.commit_batch().expect("nothing buffered"), vec![]);
    assert!(!store.delete_topic(TOPIC).expect("again"));
    put_range(&store, 0, 0..2);
    store.commit_batch().expect("recreate");
    assert_eq!(
        read_all(&store, 0, 0),
        (0..2).map(entry).collect::<Vec<_>>()
    );
    store.flush().expect("flush");
}

#[test]
fn invalid_arguments_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("open");
    let code = |r: Result<(), ConsumeQueueError>| r.expect_err("error").code();
    assert_eq!(code(store.put("a/b", 0, 0, entry(0))), "INVALID_ARGUMENT");
    assert_eq!(code(store.put("..", 0, 0, entry(0))), "INVALID_ARGUMENT");
    assert_eq!(code(store.put(TOPIC, -1, 0, entry(0))), "INVALID_ARGUMENT");
    assert_eq!(code(store.put(TOPIC, 0, -1, entry(0))), "INVALID_ARGUMENT");
    let absent = CqEntry {
        size: 0,
        ..entry(0)
    };
    assert_eq!(code(store.put(TOPIC, 0, 0, absent)), "INVALID_ARGUMENT");
    assert_eq!(
        store.read(TOPIC, 0, -1, 1).expect_err("negative").code(),
        "INVALID_ARGUMENT"
    );
    let bad = ConsumeQueueConfig {
        entries_per_file: 0,
        ..Default::default()
    };
    let error = ConsumeQueueStore::open(dir.path(), bad).expect_err("bad config");
    assert_eq!(error.code(), "INVALID_ARGUMENT");
}

#[test]
fn put_is_bounded_by_pending_entries_max() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = ConsumeQueueConfig {
        entries_per_file: 4,
        pending_entries_max: 3,
        ..Default::default()
    };
    let store = ConsumeQueueStore::open(dir.path(), cfg).expect("open");
    put_range(&store, 0, 0..3);
    let error = store.put(TOPIC, 0, 3, entry(3)).expect_err("full");
    assert_eq!(error.code(), "BATCH_FULL");
    store.commit_batch().expect("commit");
    store.put(TOPIC, 0, 3, entry(3)).expect("room again");
}

#[test]
fn absent_entry_below_max_is_reported_as_corruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ConsumeQueueStore::open(dir.path(), config(8)).expect("open");
    put_range(&store, 0, 0..4);
    store.commit_batch().expect("commit");
    let path = queue_dir(dir.path(), 0).join("00000000000000000000");
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open file");
    std::os::unix::fs::FileExt::write_all_at(&file, &[0; 20], 40).expect("zero entry 2");
    assert_eq!(
        store.read(TOPIC, 0, 0, 8).expect_err("hole").code(),
        "CORRUPT_FILE"
    );
    put_range(&store, 0, 2..3); // re-dispatch heals it
    store.commit_batch().expect("commit");
    assert_eq!(
        read_all(&store, 0, 0),
        (0..4).map(entry).collect::<Vec<_>>()
    );
}

#[test]
fn store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<ConsumeQueueStore>();
}

#[test]
fn a_flush_of_many_dirty_queues_syncs_them_all_and_they_read_back_after_reopen() {
    // More dirty files than the per-file threshold: the flush takes the syncfs path.
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = ConsumeQueueStore::open(dir.path(), config(16)).expect("open");
        for queue_id in 0..200 {
            put_range(&store, queue_id, 0..3);
        }
        store.commit_batch().expect("commit");
        store.flush().expect("flush of 200 dirty queues");
        // A second flush has nothing left to do and succeeds too.
        store.flush().expect("empty flush");
    }
    let reopened = ConsumeQueueStore::open(dir.path(), config(16)).expect("reopen");
    for queue_id in 0..200 {
        assert_eq!(reopened.max_offset(TOPIC, queue_id), 3, "queue {queue_id}");
        assert_eq!(read_all(&reopened, queue_id, 0), (0..3).map(entry).collect::<Vec<_>>());
    }
}
