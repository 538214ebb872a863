//! The store's control files: the directory lock, the format marker, the abort marker and
//! the checkpoint.
//!
//! `checkpoint` (48 bytes, big-endian, written atomically: temp file, fsync, rename):
//!
//! ```text
//!  0 magic        u32  "BCKP"
//!  4 version      u32  1
//!  8 safe_offset  u64  every record below is flushed in the CommitLog AND its ConsumeQueue
//!                      entries and index keys are flushed: recovery verifies from here on
//! 16 physic_msg_timestamp  i64  store timestamp of the last record below safe_offset
//! 24 written_at_ms         i64
//! 32 reserved     [u8; 12]
//! 44 crc32        u32  of bytes 0..44
//! ```
//!
//! `abort` exists while a process has the store open: present at start means the last run
//! did not shut down cleanly, and records after `safe_offset` are re-verified.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result, StoreError};
use crate::mapped_file::{sync_dir, write_file_atomically};

pub const FORMAT_VERSION: u32 = 1;
const FORMAT_MARKER_PREFIX: &str = "bolide-store-format ";
const CHECKPOINT_MAGIC: u32 = u32::from_be_bytes(*b"BCKP");
const CHECKPOINT_SIZE: usize = 48;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub safe_offset: u64,
    pub physic_msg_timestamp: i64,
    pub written_at_ms: i64,
}

impl Checkpoint {
    fn encode(&self) -> [u8; CHECKPOINT_SIZE] {
        let mut bytes = [0u8; CHECKPOINT_SIZE];
        bytes[0..4].copy_from_slice(&CHECKPOINT_MAGIC.to_be_bytes());
        bytes[4..8].copy_from_slice(&1u32.to_be_bytes());
        bytes[8..16].copy_from_slice(&self.safe_offset.to_be_bytes());
        bytes[16..24].copy_from_slice(&self.physic_msg_timestamp.to_be_bytes());
        bytes[24..32].copy_from_slice(&self.written_at_ms.to_be_bytes());
        let crc = crc32fast::hash(&bytes[..44]);
        bytes[44..48].copy_from_slice(&crc.to_be_bytes());
        bytes
    }

    fn decode(bytes: &[u8]) -> Option<Checkpoint> {
        if bytes.len() != CHECKPOINT_SIZE {
            return None;
        }
        let u32_at = |pos: usize| u32::from_be_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes"));
        let u64_at = |pos: usize| u64::from_be_bytes(bytes[pos..pos + 8].try_into().expect("8 bytes"));
        if u32_at(0) != CHECKPOINT_MAGIC || u32_at(4) != 1 || u32_at(44) != crc32fast::hash(&bytes[..44]) {
            return None;
        }
        Some(Checkpoint {
            safe_offset: u64_at(8),
            physic_msg_timestamp: u64_at(16) as i64,
            written_at_ms: u64_at(24) as i64,
        })
    }
}

/// The files that describe the store's state rather than its data.
pub struct ControlFiles {
    root: PathBuf,
    /// Held for the life of the store; the kernel releases the flock if the process dies.
    _lock: File,
}

impl ControlFiles {
    /// Take the directory lock and check (or write) the format marker.
    pub fn acquire(root: &Path) -> Result<ControlFiles> {
        std::fs::create_dir_all(root).context(|| format!("creating {}", root.display()))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(root.join("lock"))
            .context(|| format!("opening {}/lock", root.display()))?;
        // SAFETY: plain syscall on a valid open file descriptor.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(StoreError::Locked(root.to_path_buf()));
            }
            return Err(StoreError::io(format!("locking {}", root.display()), error));
        }
        let files = ControlFiles { root: root.to_path_buf(), _lock: lock };
        files.check_format()?;
        Ok(files)
    }

    fn check_format(&self) -> Result<()> {
        let path = self.root.join("format");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let expected = format!("{FORMAT_MARKER_PREFIX}{FORMAT_VERSION}");
                if text.trim() != expected {
                    return Err(StoreError::FormatVersion { found: text.trim().to_owned(), expected: FORMAT_VERSION });
                }
                Ok(())
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                write_file_atomically(&path, format!("{FORMAT_MARKER_PREFIX}{FORMAT_VERSION}\n").as_bytes())
            }
            Err(error) => Err(StoreError::io(format!("reading {}", path.display()), error)),
        }
    }

    /// Whether the previous run ended without a clean shutdown.
    pub fn was_aborted(&self) -> bool {
        self.root.join("abort").exists()
    }

    pub fn mark_running(&self) -> Result<()> {
        File::create(self.root.join("abort")).context(|| "creating the abort marker".to_owned())?;
        sync_dir(&self.root)
    }

    pub fn mark_clean_shutdown(&self) -> Result<()> {
        match std::fs::remove_file(self.root.join("abort")) {
            Ok(()) => sync_dir(&self.root),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(StoreError::io("removing the abort marker", error)),
        }
    }

    /// The last checkpoint, or `None` if there is none or it fails its CRC.
    pub fn read_checkpoint(&self) -> Option<Checkpoint> {
        std::fs::read(self.root.join("checkpoint")).ok().and_then(|bytes| Checkpoint::decode(&bytes))
    }

    /// A handle the checkpoint thread uses to write checkpoints.
    pub fn checkpoint_writer(&self) -> CheckpointWriter {
        CheckpointWriter { path: self.root.join("checkpoint") }
    }
}

/// Writes the checkpoint file atomically; cheap to clone into a background thread.
#[derive(Debug, Clone)]
pub struct CheckpointWriter {
    path: PathBuf,
}

impl CheckpointWriter {
    pub fn write(&self, checkpoint: &Checkpoint) -> Result<()> {
        write_file_atomically(&self.path, &checkpoint.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_round_trips_and_rejects_a_flipped_byte() {
        let checkpoint = Checkpoint { safe_offset: 123_456, physic_msg_timestamp: 42, written_at_ms: 7 };
        let mut bytes = checkpoint.encode();
        assert_eq!(Checkpoint::decode(&bytes), Some(checkpoint));
        bytes[10] ^= 1;
        assert_eq!(Checkpoint::decode(&bytes), None);
    }

    #[test]
    fn a_second_open_of_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = ControlFiles::acquire(dir.path()).expect("first lock");
        match ControlFiles::acquire(dir.path()) {
            Err(StoreError::Locked(_)) => {}
            other => panic!("expected Locked, got {:?}", other.err()),
        }
    }

    #[test]
    fn an_unknown_format_version_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("format"), "bolide-store-format 99\n").expect("write marker");
        match ControlFiles::acquire(dir.path()) {
            Err(StoreError::FormatVersion { found, .. }) => assert!(found.contains("99")),
            other => panic!("expected FormatVersion, got {:?}", other.err()),
        }
    }
}
