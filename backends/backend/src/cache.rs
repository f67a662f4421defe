//! Cached artifacts (generated weights, exported graphs, quantized files,
//! reference outputs) with their SHA-256 in a file beside them, written at
//! creation and checked at every use. A cache file damaged on disk used to be
//! read as if whole: zeroed pages gave silently wrong accuracy figures, and a
//! reference rebuilt from damaged weights made a healthy backend look wrong.
//! Every artifact here is derived, so a mismatch means "rebuild".

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// What a cached file's check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integrity {
    /// The file matches the hash written beside it.
    Intact,
    /// No file yet.
    Missing,
    /// A file without its hash (an older cache, or a writer that stopped
    /// between the two): not trusted.
    Unrecorded,
    /// The file's content is not what was written.
    Mismatch { expected: String, found: String },
}

/// `<file>.sha256` beside `path`.
pub fn digest_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".sha256");
    path.with_file_name(name)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes through a temporary file and a rename, so a reader (another
/// case's worker) never sees a half-written file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    // Unique per process and per call: two threads of one process (tests
    // exporting the same model side by side) must not rename each other's
    // half-written file away.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp{}-{call}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let written = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if written.is_err() {
        // A full disk leaves no half-written file behind.
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Writes `bytes` to `path` and their hash beside it (the hash last: a
/// crash between the two leaves an `Unrecorded` file, rebuilt on next use).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomically(path, bytes)?;
    write_atomically(&digest_path(path), sha256_hex(bytes).as_bytes())
}

/// Records the hash of a file another writer produced.
pub fn record(path: &Path) -> io::Result<()> {
    let bytes = fs::read(path)?;
    write_atomically(&digest_path(path), sha256_hex(&bytes).as_bytes())
}

/// Checks `path` against its recorded hash.
pub fn check(path: &Path) -> io::Result<Integrity> {
    read_checked(path).map(|(integrity, _)| integrity)
}

/// The file's bytes when they match their recorded hash.
pub fn read_intact(path: &Path) -> io::Result<Option<Vec<u8>>> {
    Ok(match read_checked(path)? {
        (Integrity::Intact, bytes) => bytes,
        _ => None,
    })
}

fn read_checked(path: &Path) -> io::Result<(Integrity, Option<Vec<u8>>)> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Integrity::Missing, None)),
        Err(e) => return Err(e),
    };
    let expected = match fs::read_to_string(digest_path(path)) {
        Ok(text) => text.trim().to_string(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok((Integrity::Unrecorded, None));
        }
        Err(e) => return Err(e),
    };
    let found = sha256_hex(&bytes);
    if found == expected {
        Ok((Integrity::Intact, Some(bytes)))
    } else {
        Ok((Integrity::Mismatch { expected, found }, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_files_check_intact_and_damage_is_found() {
        let dir =
            std::env::temp_dir().join(format!("inferbench-cache-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("weights.bin");
        assert_eq!(check(&path).unwrap(), Integrity::Missing);
        write(&path, &[7u8; 8192]).unwrap();
        assert_eq!(check(&path).unwrap(), Integrity::Intact);
        assert_eq!(read_intact(&path).unwrap().unwrap().len(), 8192);
        // Zero the first 4 KiB, as a damaged disk page would.
        let mut bytes = fs::read(&path).unwrap();
        bytes[..4096].fill(0);
        fs::write(&path, &bytes).unwrap();
        assert!(matches!(check(&path).unwrap(), Integrity::Mismatch { .. }));
        assert_eq!(read_intact(&path).unwrap(), None);
        fs::remove_file(digest_path(&path)).unwrap();
        assert_eq!(check(&path).unwrap(), Integrity::Unrecorded);
        record(&path).unwrap();
        assert_eq!(check(&path).unwrap(), Integrity::Intact);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Two tests of one binary once exported the same ONNX file side by
    /// side and one failed with "No such file or directory".
    #[test]
    fn threads_of_one_process_write_one_file_side_by_side() {
        let dir =
            std::env::temp_dir().join(format!("inferbench-cache-threads-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model.onnx");
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        write(&path, &[3u8; 4096]).unwrap();
                    }
                });
            }
        });
        assert_eq!(check(&path).unwrap(), Integrity::Intact);
        fs::remove_dir_all(&dir).unwrap();
    }
}
