//! Finding and loading the ONNX Runtime shared library at run time
//! (`ort`'s `load-dynamic`), so inferbench builds without it and reports
//! ORT cases as skipped, with a hint, where it is missing.
//!
//! Lookup order: `ORT_DYLIB_PATH` (which `inferbench run --ort-lib PATH`
//! sets for itself and its worker processes), then the project-local
//! `vendor/onnxruntime/` that `ci/setup.sh` fills, searched from the current
//! directory, from the executable's folder and from the source tree this
//! binary was built from. An explicit path is authoritative: when it points
//! nowhere the backend is unavailable rather than silently using another
//! library.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The environment variable `ort` itself reads, reused so that existing ORT
/// setups keep working.
pub const LIBRARY_ENV: &str = "ORT_DYLIB_PATH";

/// The ONNX Runtime release `ci/setup.sh` installs (api-31 needs >= 1.21).
pub const ORT_VERSION: &str = "1.32.0";

pub const HINT: &str = "run `bash ci/setup.sh` to fetch ONNX Runtime 1.32.0 into vendor/onnxruntime/, \
     or point `--ort-lib` / ORT_DYLIB_PATH at libonnxruntime.so";

/// Where the project keeps the library, relative to the repository root.
const PROJECT_DIR: &str = "vendor/onnxruntime";

#[derive(Debug, Clone, PartialEq)]
pub struct Unavailable {
    pub reason: String,
    pub hint: String,
}

/// The loaded runtime: where it came from, its version, and the one ORT
/// environment of this process that every session is built in.
#[derive(Clone)]
pub struct Runtime {
    pub path: PathBuf,
    pub version: String,
    pub environment: ort::environment::Environment,
}

/// Loads the library once per process; later calls return the first outcome.
pub fn runtime() -> Result<&'static Runtime, Unavailable> {
    static LOADED: OnceLock<Result<Runtime, Unavailable>> = OnceLock::new();
    LOADED.get_or_init(load).as_ref().map_err(Clone::clone)
}

fn load() -> Result<Runtime, Unavailable> {
    let path = locate()?;
    // `init_from` only dlopens and checks the version; it returns an error
    // for a missing or incompatible file instead of panicking.
    let builder = ort::init_from(&path).map_err(|e| Unavailable {
        reason: match not_a_library(&path) {
            Some(why) => format!("ONNX Runtime could not be loaded: {} {why}", path.display()),
            None => format!(
                "ONNX Runtime could not be loaded from {}: {e}",
                path.display()
            ),
        },
        hint: HINT.into(),
    })?;
    let environment = builder
        .with_name("inferbench")
        .with_telemetry(false)
        .build()
        .map_err(|e| Unavailable {
            reason: format!("ONNX Runtime {} failed to start: {e}", path.display()),
            hint: HINT.into(),
        })?;
    Ok(Runtime {
        version: runtime_version(&path),
        path,
        environment,
    })
}

/// The release, from the versioned file name the library is (or links to),
/// `libonnxruntime.so.1.32.0`; ORT's build info names a git commit only.
fn runtime_version(path: &Path) -> String {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    real.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split_once(".so."))
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| ort::info().to_string())
}

/// The library file to load, following the lookup order above.
pub fn locate() -> Result<PathBuf, Unavailable> {
    if let Some(explicit) = std::env::var_os(LIBRARY_ENV).filter(|v| !v.is_empty()) {
        let path = absolute(Path::new(&explicit));
        let what = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => return Ok(path),
            Ok(m) if m.is_dir() => "is a folder; name the library file in it \
                 (e.g. libonnxruntime.so.1.32.0)"
                .to_string(),
            Ok(_) => "is not a regular file".to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist".to_string(),
            Err(e) => format!("cannot be read: {e}"),
        };
        return Err(Unavailable {
            reason: format!(
                "ONNX Runtime library not usable: {LIBRARY_ENV} (or --ort-lib) names {}, which {what}",
                path.display()
            ),
            hint: HINT.into(),
        });
    }
    project_local_candidates()
        .into_iter()
        .find(|p| p.is_file())
        .map(tidy)
        .ok_or_else(|| Unavailable {
            reason: format!(
                "ONNX Runtime library not found ({LIBRARY_ENV} is not set and there is no {PROJECT_DIR}/)"
            ),
            hint: HINT.into(),
        })
}

/// Why `path` cannot be a shared library, when its first bytes say so: a
/// bare "dlopen failed" does not tell a user they named a text file.
fn not_a_library(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic));
    match read {
        Err(e) => Some(format!("cannot be read ({e})")),
        Ok(()) if &magic != b"\x7fELF" => {
            Some("is not a shared library (it does not start with an ELF header)".into())
        }
        Ok(()) => None,
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Without `..` steps, for readable messages (links are kept).
fn tidy(path: PathBuf) -> PathBuf {
    path.parent()
        .and_then(|dir| std::fs::canonicalize(dir).ok())
        .zip(path.file_name())
        .map_or(path.clone(), |(dir, name)| dir.join(name))
}

/// `vendor/onnxruntime/libonnxruntime.so.1.32.0` (then the unversioned
/// name) under the current directory, the executable's folder, and the
/// source tree, each with all their ancestors, nearest first.
fn project_local_candidates() -> Vec<PathBuf> {
    let versioned = format!(
        "{}onnxruntime{}.{ORT_VERSION}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let plain = format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        roots.push(dir);
    }
    roots.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    let mut out = Vec::new();
    for root in roots {
        for dir in root.ancestors() {
            let folder = dir.join(PROJECT_DIR);
            for name in [&versioned, &plain] {
                let candidate = folder.join(name);
                if !out.contains(&candidate) {
                    out.push(candidate);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ci/setup.sh downloads the library; this constant must name the same
    /// release (it is looked up by that file name).
    #[test]
    fn the_version_is_the_one_setup_downloads() {
        let setup = include_str!("../../../ci/setup.sh");
        let pinned = setup
            .lines()
            .find_map(|l| l.strip_prefix("ORT_VERSION="))
            .unwrap();
        assert_eq!(ORT_VERSION, pinned.trim());
    }

    #[test]
    fn a_file_that_is_not_a_library_is_named_as_such() {
        let dir = std::env::temp_dir().join(format!("ort-lib-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = dir.join("libonnxruntime.so");
        std::fs::write(&text, "not a library").unwrap();
        let why = not_a_library(&text).unwrap();
        assert!(why.contains("not a shared library"), "{why}");
        assert!(
            not_a_library(&dir.join("missing"))
                .unwrap()
                .contains("cannot be read")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn candidates_cover_cwd_and_source_tree() {
        let c = project_local_candidates();
        let cwd = std::env::current_dir().unwrap();
        assert!(
            c[0].starts_with(&cwd) && c[0].ends_with("vendor/onnxruntime/libonnxruntime.so.1.32.0")
        );
        let tree = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../vendor/onnxruntime/libonnxruntime.so");
        assert!(c.contains(&tree), "{c:?}");
    }
}
