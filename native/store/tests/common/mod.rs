//! Helpers shared by the ConsumeQueue integration tests.
#![allow(dead_code)] // each test crate uses a different subset

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use bolide_store::consume_queue::{ConsumeQueueConfig, ConsumeQueueStore, CqEntry};

pub const TOPIC: &str = "TopicTest";

pub fn config(entries_per_file: u32) -> ConsumeQueueConfig {
    ConsumeQueueConfig {
        entries_per_file,
        ..ConsumeQueueConfig::default()
    }
}

pub fn entry(i: i64) -> CqEntry {
    CqEntry {
        commit_log_offset: i * 100,
        size: 100,
        tags_code: i % 3,
    }
}

pub fn put_range(store: &ConsumeQueueStore, queue_id: i32, offsets: std::ops::Range<i64>) {
    for offset in offsets {
        store
            .put(TOPIC, queue_id, offset, entry(offset))
            .expect("put");
    }
}

pub fn read_all(store: &ConsumeQueueStore, queue_id: i32, from: i64) -> Vec<CqEntry> {
    let max = store.max_offset(TOPIC, queue_id);
    let mut entries = Vec::new();
    while from + (entries.len() as i64) < max {
        let next = from + entries.len() as i64;
        let chunk = store.read(TOPIC, queue_id, next, 1000).expect("read");
        assert!(!chunk.is_empty(), "no progress at {next}");
        entries.extend(chunk);
    }
    entries
}

pub fn queue_dir(root: &Path, queue_id: i32) -> PathBuf {
    root.join(TOPIC).join(queue_id.to_string())
}

pub fn file_names(root: &Path, queue_id: i32) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(queue_dir(root, queue_id))
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub fn append(path: &Path, bytes: &[u8]) {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .expect("open");
    file.write_all(bytes).expect("append");
}
