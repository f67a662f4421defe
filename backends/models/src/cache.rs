//! Content hashes and the atomic, verified files of the model cache.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::ModelError;

/// SHA-256 of a file's content, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut file = File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| ModelError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// A sibling path unique to this process (and thread), renamed over the
/// target when complete, so concurrent writers never expose half a file.
pub fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    path.with_file_name(format!(".{name}.tmp{}-{thread}", std::process::id()))
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let tmp = temporary_path(path);
    std::fs::write(&tmp, bytes).map_err(|e| ModelError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| ModelError::io(path, e))
}

/// The path of the hash recorded next to a cached file.
fn hash_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

/// Whether `path` exists and its content matches the hash recorded when it
/// was written (a cache entry truncated or edited since is not used).
pub fn is_intact(path: &Path) -> Result<bool, ModelError> {
    let Ok(recorded) = std::fs::read_to_string(hash_path(path)) else {
        return Ok(false);
    };
    if !path.exists() {
        return Ok(false);
    }
    Ok(sha256_file(path)? == recorded.trim())
}

/// Records the hash of a freshly written cache file.
pub fn record_hash(path: &Path) -> Result<(), ModelError> {
    let hash = sha256_file(path)?;
    write_atomically(&hash_path(path), hash.as_bytes())
}

/// The model cache under `$INFERBENCH_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/inferbench`, else `~/.cache/inferbench` (as the CLI's
/// `--cache-dir` default).
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("INFERBENCH_CACHE_DIR") {
        return dir.into();
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("inferbench");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache/inferbench"),
        None => PathBuf::from(".inferbench/cache"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_of_abc_is_the_fips_example() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn an_edited_cache_file_is_not_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weights");
        std::fs::write(&path, b"one").unwrap();
        assert!(!is_intact(&path).unwrap());
        record_hash(&path).unwrap();
        assert!(is_intact(&path).unwrap());
        std::fs::write(&path, b"two").unwrap();
        assert!(!is_intact(&path).unwrap());
    }
}
