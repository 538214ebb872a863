//! ConsumeQueue recovery and retention through the public API: reopen, torn tails,
//! truncate_dirty and delete_expired.

mod common;

use std::fs;

use bolide_store::consume_queue::{ConsumeQueueStore, CQ_ENTRY_SIZE};
use common::*;

#[test]
fn reopen_rebuilds_bounds_and_cuts_partial_and_zero_tails() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("open");
        put_range(&store, 0, 0..6);
        put_range(&store, 1, 0..8);
        store.commit_batch().expect("commit");
        store.flush().expect("flush");
    }
    // Queue 0: a partial trailing entry. Queue 1: a zero tail spilling into a new file.
    append(
        &queue_dir(dir.path(), 0).join("00000000000000000080"),
        &[7; 13],
    );
    append(
        &queue_dir(dir.path(), 1).join("00000000000000000160"),
        &[0; 40],
    );
    let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("reopen");
    assert_eq!(
        (store.min_offset(TOPIC, 0), store.max_offset(TOPIC, 0)),
        (0, 6)
    );
    assert_eq!(
        (store.min_offset(TOPIC, 1), store.max_offset(TOPIC, 1)),
        (0, 8)
    );
    let len = fs::metadata(queue_dir(dir.path(), 0).join("00000000000000000080"))
        .expect("meta")
        .len();
    assert_eq!(len, 2 * CQ_ENTRY_SIZE as u64, "partial entry truncated");
    assert_eq!(
        file_names(dir.path(), 1).len(),
        2,
        "file of zeros past the end deleted"
    );
    assert_eq!(
        read_all(&store, 0, 0),
        (0..6).map(entry).collect::<Vec<_>>()
    );
    put_range(&store, 1, 8..9);
    store.commit_batch().expect("commit after reopen");
    assert_eq!(
        read_all(&store, 1, 0),
        (0..9).map(entry).collect::<Vec<_>>()
    );
}

#[test]
fn reopen_cuts_zero_tail_inside_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = ConsumeQueueStore::open(dir.path(), config(8)).expect("open");
        put_range(&store, 0, 0..3);
        store.commit_batch().expect("commit");
    }
    append(
        &queue_dir(dir.path(), 0).join("00000000000000000000"),
        &[0; 60],
    );
    let store = ConsumeQueueStore::open(dir.path(), config(8)).expect("reopen");
    assert_eq!(store.max_offset(TOPIC, 0), 3);
    let len = fs::metadata(queue_dir(dir.path(), 0).join("00000000000000000000"))
        .expect("meta")
        .len();
    assert_eq!(len, 60);
}

#[test]
fn reopen_rejects_misaligned_or_missing_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("open");
        put_range(&store, 0, 0..12);
        store.commit_batch().expect("commit");
    }
    let error = ConsumeQueueStore::open(dir.path(), config(3)).expect_err("misaligned");
    assert_eq!(error.code(), "CORRUPT_FILE");
    fs::remove_file(queue_dir(dir.path(), 0).join("00000000000000000080")).expect("rm");
    let error = ConsumeQueueStore::open(dir.path(), config(4)).expect_err("gap in files");
    assert_eq!(error.code(), "CORRUPT_FILE");
}

#[test]
fn truncate_dirty_drops_entries_past_the_commit_log_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("open");
        put_range(&store, 0, 0..10);
        put_range(&store, 1, 0..3);
        store.commit_batch().expect("commit");
        // Entry 5 ends at 600: everything from 5 on points past a CommitLog end of 550.
        assert_eq!(store.truncate_dirty(550).expect("truncate"), 5);
        assert_eq!(store.max_offset(TOPIC, 0), 5);
        assert_eq!(store.max_offset(TOPIC, 1), 3);
        assert_eq!(file_names(dir.path(), 0).len(), 2);
        assert_eq!(store.truncate_dirty(550).expect("again"), 0);
        put_range(&store, 0, 5..6);
        store.commit_batch().expect("append after truncate");
        assert_eq!(store.max_offset(TOPIC, 0), 6);
        assert_eq!(store.truncate_dirty(400).expect("to a file start"), 2);
        store.flush().expect("flush");
    }
    let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("reopen");
    assert_eq!(store.max_offset(TOPIC, 0), 4);
    assert_eq!(
        read_all(&store, 0, 0),
        (0..4).map(entry).collect::<Vec<_>>()
    );
}

#[test]
fn delete_expired_removes_whole_files_and_moves_min() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("open");
    put_range(&store, 0, 0..10);
    store.commit_batch().expect("commit");
    assert_eq!(store.delete_expired(0).expect("nothing expired"), 0);
    // Entries 0..=5 point below 600: file 0 goes, file 4 stays (entries 6, 7 are live).
    assert_eq!(store.delete_expired(600).expect("expire"), 1);
    assert_eq!(store.min_offset(TOPIC, 0), 6);
    assert_eq!(file_names(dir.path(), 0).len(), 2);
    assert_eq!(
        store.read(TOPIC, 0, 5, 1).expect_err("below min").code(),
        "OFFSET_TOO_SMALL"
    );
    assert_eq!(
        store.read(TOPIC, 0, 6, 9).expect("read"),
        vec![entry(6), entry(7)]
    );
    // Everything expired: the last file is kept so the max offset survives a restart.
    assert_eq!(store.delete_expired(5000).expect("expire all"), 1);
    assert_eq!(
        (store.min_offset(TOPIC, 0), store.max_offset(TOPIC, 0)),
        (10, 10)
    );
    assert_eq!(file_names(dir.path(), 0), ["00000000000000000160"]);
    drop(store);
    let store = ConsumeQueueStore::open(dir.path(), config(4)).expect("reopen");
    assert_eq!(
        (store.min_offset(TOPIC, 0), store.max_offset(TOPIC, 0)),
        (8, 10)
    );
    store.delete_expired(5000).expect("re-apply after open");
    assert_eq!(store.min_offset(TOPIC, 0), 10);
    put_range(&store, 0, 10..11);
    store.commit_batch().expect("continue");
    assert_eq!(store.read(TOPIC, 0, 10, 9).expect("read"), vec![entry(10)]);
}
