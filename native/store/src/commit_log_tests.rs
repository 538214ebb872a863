//! CommitLog unit tests: appends, roll-over at every boundary case, raw replication.

use std::net::SocketAddr;
use std::sync::Arc;

use super::*;
use crate::record::{decode_record, Decoded, MessageInput};

const SEGMENT: u64 = 64 * 1024;
const OVERHEAD: usize = 91 + 1 + 5; // fixed fields + topic "T" + properties "a\x01bb\x02"

/// Both ways an append reaches the file: encoded into the mapping, or staged and pwritten.
const APPEND_MODES: [AppendMode; 3] = [AppendMode::Mapping, AppendMode::Pwrite, AppendMode::DeferredPwrite];

fn open(dir: &std::path::Path) -> CommitLog {
    open_in(dir, AppendMode::Mapping)
}

fn open_in(dir: &std::path::Path, mode: AppendMode) -> CommitLog {
    let mut log = CommitLog::open(dir, SEGMENT, 60 * 1024, AllocatorOptions::default(), Arc::new(StoreStats::default())).expect("open");
    log.set_append_mode(mode);
    log.set_recovered_end(0);
    log
}

/// What the mapping shows is what the files hold, for every segment.
fn assert_files_match_mapping(log: &CommitLog) {
    for segment in log.segments() {
        let on_disk = std::fs::read(segment.path()).unwrap();
        assert!(on_disk == segment.slice(0, segment.size() as usize), "segment {} differs from its file", segment.path().display());
    }
}

fn message(body: &[u8]) -> MessageInput<'_> {
    MessageInput {
        topic: "T",
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: Some(1),
        born_host: SocketAddr::from(([127, 0, 0, 1], 5000)),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body,
        properties: b"a\x01bb\x02",
    }
}

fn body_for_record_size(size: usize) -> Vec<u8> {
    vec![7u8; size - OVERHEAD]
}

/// Walk the log from 0 the way a reader does; returns (offset, queue offset) of each record.
fn walk(log: &CommitLog) -> Vec<(u64, i64)> {
    // Staged records (DeferredPwrite) are written and published by a commit first.
    log.commit().expect("commit");
    let mut records = Vec::new();
    let mut offset = 0;
    while offset < log.write_position() {
        let (segment, pos, available) = log.readable_at(offset).expect("readable");
        match decode_record(segment.slice(pos, available), true).expect("valid") {
            Decoded::Record(view) => {
                assert_eq!(view.physical_offset as u64, offset);
                records.push((offset, view.queue_offset));
                offset += view.total_size as u64;
            }
            Decoded::Blank { size } => {
                assert_eq!((offset + size as u64) % log.segment_size(), 0, "a BLANK runs exactly to the segment end");
                offset += size as u64;
            }
            Decoded::End => panic!("zeros below the write position at {offset}"),
        }
    }
    records
}

#[test]
fn queue_offsets_are_consecutive_per_queue_and_batches_are_atomic() {
    for mode in APPEND_MODES {
        queue_offsets_and_atomic_batches(mode);
    }
}

fn queue_offsets_and_atomic_batches(mode: AppendMode) {
    let dir = tempfile::tempdir().unwrap();
    let log = open_in(dir.path(), mode);
    let body = [1u8; 10];
    let mut other = message(&body);
    other.queue_id = 1;
    let results = log.append(&[message(&body), other.clone(), message(&body)], 5).unwrap();
    assert_eq!(results.iter().map(|r| r.queue_offset).collect::<Vec<_>>(), vec![0, 0, 1]);
    let too_big = vec![0u8; 61 * 1024];
    let before = log.write_position();
    assert!(log.append(&[message(&body), message(&too_big)], 5).is_err());
    assert_eq!(log.write_position(), before, "a failed batch publishes nothing");
    let next = log.append(&[message(&body)], 5).unwrap();
    assert_eq!(next[0].queue_offset, 2, "a failed batch consumes no queue offset");
}

#[test]
fn roll_over_handles_every_boundary_case() {
    // delta = room left after the record minus the 8 bytes a BLANK needs.
    for (delta, mode) in [-9i64, -8, -1, 0, 1, 7, 8, 9].into_iter().flat_map(|d| APPEND_MODES.map(|m| (d, m))) {
        let dir = tempfile::tempdir().unwrap();
        let log = open_in(dir.path(), mode);
        let first = 40_000usize;
        log.append(&[message(&body_for_record_size(first))], 1).unwrap();
        let room = SEGMENT as i64 - first as i64;
        let second_size = (room - 8 - delta) as usize;
        let second = log.append(&[message(&body_for_record_size(second_size))], 1).unwrap();
        let fits = delta >= 0;
        let expected_offset = if fits { first as u64 } else { SEGMENT };
        assert_eq!(second[0].physical_offset, expected_offset, "delta {delta}");
        let third = log.append(&[message(&body_for_record_size(200))], 1).unwrap();
        assert!(third[0].physical_offset >= second[0].end_offset());
        let records = walk(&log);
        assert_eq!(records.len(), 3, "delta {delta}");
        assert_eq!(records.iter().map(|r| r.1).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_files_match_mapping(&log);
    }
}

#[test]
fn a_batch_crossing_a_segment_end_is_split_by_a_blank_and_reads_back_in_order() {
    for mode in APPEND_MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = open_in(dir.path(), mode);
        log.append(&[message(&body_for_record_size(30_000))], 1).unwrap();
        let bodies: Vec<Vec<u8>> = (0..40).map(|i| body_for_record_size(OVERHEAD + 1000 + i * 13)).collect();
        let batch: Vec<MessageInput<'_>> = bodies.iter().map(|b| message(b)).collect();
        let results = log.append(&batch, 1).unwrap();
        assert!(results.first().unwrap().physical_offset < SEGMENT && results.last().unwrap().physical_offset >= SEGMENT);
        let records = walk(&log);
        assert_eq!(records.len(), 41);
        assert_eq!(records.iter().map(|r| r.1).collect::<Vec<_>>(), (0..41).collect::<Vec<i64>>());
        assert_files_match_mapping(&log);
    }
}

#[test]
fn many_appends_span_many_segments_and_read_back_in_order() {
    for mode in APPEND_MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = open_in(dir.path(), mode);
        let mut expected = Vec::new();
        for i in 0..2000usize {
            let size = OVERHEAD + (i * 7919) % 3000;
            let result = log.append(&[message(&body_for_record_size(size))], 1).unwrap();
            expected.push((result[0].physical_offset, i as i64));
        }
        assert!(log.segments().len() > 10);
        assert_eq!(walk(&log), expected);
        assert_files_match_mapping(&log);
    }
}

#[test]
fn raw_replication_reproduces_the_same_bytes() {
    for mode in APPEND_MODES {
        raw_replication_of_a_master_appending_by(mode);
    }
}

fn raw_replication_of_a_master_appending_by(mode: AppendMode) {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Whichever way the master appends, the slave writes through its mapping: same bytes.
    let master = open_in(dir_a.path(), mode);
    for i in 0..500usize {
        master.append(&[message(&body_for_record_size(OVERHEAD + i % 900))], 1).unwrap();
    }
    let slave = open(dir_b.path());
    let mut offset = 0;
    // Ship in odd-sized chunks so records are split across calls; like the HA protocol, the
    // master always continues from the offset the slave reports (its readable end). Records
    // the master still has staged are committed when asked for.
    while offset < master.appended_position() {
        let chunk = master.read_raw(offset, 3333).unwrap();
        offset = slave.append_raw(offset, &chunk).unwrap();
    }
    assert_eq!(slave.write_position(), master.write_position());
    for segment in master.segments() {
        let twin = slave.segment_for(segment.file_from_offset()).unwrap();
        let len = (master.write_position() - segment.file_from_offset()).min(SEGMENT) as usize;
        assert_eq!(segment.slice(0, len), twin.slice(0, len));
    }
    assert!(matches!(slave.append_raw(0, b"x"), Err(StoreError::ReplicaOffsetMismatch { .. })));
}

#[test]
fn records_stay_intact_when_written_pages_are_unmapped_and_written_back_behind_the_writer_and_before_flushes() {
    for mode in APPEND_MODES {
        records_stay_intact_behind_the_writer(mode);
    }
}

fn records_stay_intact_behind_the_writer(mode: AppendMode) {
    // Segments big enough for the 4 MiB pre-fault/unmap/writeback windows; flushes between
    // appends unmap the page the writer is still filling, so the next append faults it back in.
    const BIG: u64 = 16 << 20;
    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(dir.path(), BIG, 4 << 20, AllocatorOptions::default(), Arc::new(StoreStats::default())).expect("open");
    log.set_append_mode(mode);
    // Zeros written ahead of the head race the writer here: none may land on a record.
    log.set_zero_fill_ahead(mode != AppendMode::Mapping);
    log.set_recovered_end(0);
    let mut expected = Vec::new();
    let mut i = 0usize;
    while log.write_position() < 2 * BIG + BIG / 2 {
        let body = vec![(i % 251) as u8; 200 + (i * 7919) % 5000];
        let result = log.append(&[message(&body)], 1).unwrap();
        expected.push((result[0].physical_offset, i as i64));
        if i.is_multiple_of(97) {
            log.flush_to(log.write_position()).unwrap();
        }
        i += 1;
    }
    log.flush_to(log.write_position()).unwrap();
    assert_eq!(walk(&log), expected);
    // The allocator thread started writeback behind the head in the first segment.
    let first = log.segments()[0].clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while first.written_back_until() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(first.written_back_until() >= 4 << 20, "writeback behind the head never started");
    if mode != AppendMode::Mapping {
        assert!(log.segments()[1].zeroed_until() > 0, "nothing was zero-filled ahead of the head");
    }
    assert_files_match_mapping(&log);
}

#[test]
fn zero_fill_never_writes_below_a_range_claimed_for_records() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let segment = Segment::create(dir.path(), 0, SEGMENT, false).unwrap();
    segment.claim_for_write(100);
    segment.file().write_all_at(&[9u8; 100], 0).unwrap();
    segment.zero_fill_ahead(0, 8192).unwrap();
    assert_eq!(segment.zeroed_until(), 8192);
    assert_eq!(segment.slice(0, 100), &[9u8; 100][..]);
    assert!(segment.slice(100, 8092).iter().all(|&b| b == 0));
    // A claim inside the zeroed range changes nothing; one past it moves the boundary.
    segment.claim_for_write(4000);
    assert_eq!(segment.zeroed_until(), 8192);
    segment.claim_for_write(10_000);
    segment.file().write_all_at(&[8u8; 1808], 8192).unwrap();
    segment.zero_fill_ahead(0, 16_384).unwrap();
    assert_eq!(segment.slice(8192, 1808), &[8u8; 1808][..]);
    // A segment reopened after a restart holds records: it is never zero-filled.
    let path = segment.path().to_path_buf();
    drop(segment);
    let reopened = Segment::open(path, 0, SEGMENT).unwrap();
    reopened.zero_fill_ahead(0, SEGMENT as usize).unwrap();
    assert_eq!(reopened.slice(0, 100), &[9u8; 100][..]);
}

#[test]
fn deferred_appends_are_published_by_a_commit_or_by_a_reader_asking_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_in(dir.path(), AppendMode::DeferredPwrite);
    let body = body_for_record_size(300);
    let first = log.append_one(&message(&body), 1).unwrap();
    let second = log.append_one(&message(&body), 1).unwrap();
    // Staged: not readable by position, not in the file.
    assert_eq!(log.write_position(), 0);
    assert_eq!(log.appended_position(), second.end_offset());
    assert!(std::fs::read(log.segments()[0].path()).unwrap()[..300].iter().all(|&b| b == 0));
    // A reader asking for a staged record gets it written and published first.
    let queue_offset = log.with_record(first.physical_offset, |view| view.queue_offset).unwrap();
    assert_eq!(queue_offset, 0);
    assert_eq!(log.write_position(), second.end_offset());
    // The flusher's path: commit, then sync what is published.
    let third = log.append_one(&message(&body), 1).unwrap();
    assert_eq!(log.commit().unwrap(), third.end_offset());
    assert_eq!(log.flush_to(log.write_position()).unwrap(), third.end_offset());
    assert_eq!(walk(&log), vec![(0, 0), (300, 1), (600, 2)]);
    assert_files_match_mapping(&log);
}

#[test]
fn a_failed_deferred_append_leaves_earlier_staged_records_and_the_next_append_in_place() {
    let dir = tempfile::tempdir().unwrap();
    // Messages may be larger than a segment here, so the batch fails only after it has staged
    // a record, a BLANK and rolled over to the next segment.
    let mut log = CommitLog::open(dir.path(), SEGMENT, 2 * SEGMENT as usize, AllocatorOptions::default(), Arc::new(StoreStats::default())).unwrap();
    log.set_append_mode(AppendMode::DeferredPwrite);
    log.set_recovered_end(0);
    let body = body_for_record_size(300);
    log.append_one(&message(&body), 1).unwrap();
    let larger_than_a_segment = vec![0u8; SEGMENT as usize + 10];
    assert!(matches!(
        log.append(&[message(&body), message(&larger_than_a_segment)], 1),
        Err(StoreError::MessageTooLarge { .. })
    ));
    assert_eq!(log.appended_position(), 300);
    let next = log.append_one(&message(&body), 1).unwrap();
    assert_eq!((next.physical_offset, next.queue_offset), (300, 1));
    assert_eq!(walk(&log), vec![(0, 0), (300, 1)]);
}

#[test]
fn single_appends_and_batches_share_one_queue_offset_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let body = body_for_record_size(200);
    let first = log.append_one(&message(&body), 1).unwrap();
    let batch = log.append(&[message(&body), message(&body)], 1).unwrap();
    let last = log.append_one(&message(&body), 1).unwrap();
    assert_eq!(
        [first.queue_offset, batch[0].queue_offset, batch[1].queue_offset, last.queue_offset],
        [0, 1, 2, 3]
    );
    assert_eq!(batch[0].physical_offset, first.physical_offset + u64::from(first.size));
    assert_eq!(last.physical_offset, batch[1].physical_offset + u64::from(batch[1].size));
    assert_eq!(walk(&log).iter().map(|(_, q)| *q).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
}

#[test]
fn a_failed_commit_keeps_its_records_and_the_next_commit_writes_them_before_later_ones() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_in(dir.path(), AppendMode::DeferredPwrite);
    let body = body_for_record_size(300);
    log.append_one(&message(&body), 1).unwrap();
    log.append_one(&message(&body), 1).unwrap();
    log.fail_next_staged_write.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(matches!(log.commit(), Err(StoreError::Io { .. })));
    assert_eq!(log.write_position(), 0, "nothing is published by a failed commit");
    // Appends go on behind the records the failed commit still holds.
    let third = log.append_one(&message(&body), 1).unwrap();
    assert_eq!((third.physical_offset, third.queue_offset), (600, 2));
    assert_eq!(log.commit().unwrap(), 900);
    assert_eq!(walk(&log), vec![(0, 0), (300, 1), (600, 2)]);
    log.flush_to(log.write_position()).unwrap();
    assert_files_match_mapping(&log);
}

#[test]
fn a_failed_single_append_gives_its_queue_offset_back() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_in(dir.path(), AppendMode::Pwrite);
    let body = body_for_record_size(300);
    log.append_one(&message(&body), 1).unwrap();
    log.fail_next_staged_write.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(matches!(log.append_one(&message(&body), 1), Err(StoreError::Io { .. })));
    let next = log.append_one(&message(&body), 1).unwrap();
    assert_eq!((next.physical_offset, next.queue_offset), (300, 1));
    assert_eq!(walk(&log), vec![(0, 0), (300, 1)]);
}
