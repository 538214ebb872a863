//! CommitLog unit tests: appends, roll-over at every boundary case, raw replication.

use std::net::SocketAddr;
use std::sync::Arc;

use super::*;
use crate::record::{decode_record, Decoded, MessageInput};

const SEGMENT: u64 = 64 * 1024;
const OVERHEAD: usize = 91 + 1 + 5; // fixed fields + topic "T" + properties "a\x01bb\x02"

/// Both ways an append reaches the file: encoded into the mapping, or staged and pwritten.
const APPEND_MODES: [bool; 2] = [false, true];

fn open(dir: &std::path::Path) -> CommitLog {
    open_in(dir, false)
}

fn open_in(dir: &std::path::Path, by_pwrite: bool) -> CommitLog {
    let mut log = CommitLog::open(dir, SEGMENT, 60 * 1024, false, Arc::new(StoreStats::default())).expect("open");
    log.set_append_by_pwrite(by_pwrite);
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
        born_timestamp: 1,
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
    for by_pwrite in APPEND_MODES {
        queue_offsets_and_atomic_batches(by_pwrite);
    }
}

fn queue_offsets_and_atomic_batches(by_pwrite: bool) {
    let dir = tempfile::tempdir().unwrap();
    let log = open_in(dir.path(), by_pwrite);
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
    for (delta, by_pwrite) in [-9i64, -8, -1, 0, 1, 7, 8, 9].into_iter().flat_map(|d| APPEND_MODES.map(|m| (d, m))) {
        let dir = tempfile::tempdir().unwrap();
        let log = open_in(dir.path(), by_pwrite);
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
    for by_pwrite in APPEND_MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = open_in(dir.path(), by_pwrite);
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
    for by_pwrite in APPEND_MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = open_in(dir.path(), by_pwrite);
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
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // The master appends with pwrite, the slave writes through its mapping: same bytes.
    let master = open_in(dir_a.path(), true);
    for i in 0..500usize {
        master.append(&[message(&body_for_record_size(OVERHEAD + i % 900))], 1).unwrap();
    }
    let slave = open(dir_b.path());
    let mut offset = 0;
    // Ship in odd-sized chunks so records are split across calls; like the HA protocol, the
    // master always continues from the offset the slave reports (its readable end).
    while offset < master.write_position() {
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
    for by_pwrite in APPEND_MODES {
        records_stay_intact_behind_the_writer(by_pwrite);
    }
}

fn records_stay_intact_behind_the_writer(by_pwrite: bool) {
    // Segments big enough for the 4 MiB pre-fault/unmap/writeback windows; flushes between
    // appends unmap the page the writer is still filling, so the next append faults it back in.
    const BIG: u64 = 16 << 20;
    let dir = tempfile::tempdir().unwrap();
    let mut log = CommitLog::open(dir.path(), BIG, 4 << 20, false, Arc::new(StoreStats::default())).expect("open");
    log.set_append_by_pwrite(by_pwrite);
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
    assert_files_match_mapping(&log);
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
