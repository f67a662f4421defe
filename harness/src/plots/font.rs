//! The font plots are drawn with. plotters' `ab_glyph` text needs a font
//! file registered at run time; with it, no system font library
//! (fontconfig) is needed on a headless CI machine. DejaVu Sans is the
//! first choice: Debian's `fonts-dejavu-core`, which `ci/setup.sh` unpacks
//! into `vendor/fonts/` when the system does not have it.

use std::path::PathBuf;
use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

/// Where a font is looked for, in order, after `$INFERBENCH_FONT`.
const CANDIDATES: [&str; 5] = [
    "vendor/fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

fn candidates() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::env::var_os("INFERBENCH_FONT")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    // Relative to the repository too, so the binary finds vendor/ from
    // wherever it is started inside the checkout.
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for c in CANDIDATES {
        paths.push(PathBuf::from(c));
        if c.starts_with("vendor/") {
            paths.push(repo.join(c));
        }
    }
    paths
}

/// Registers the first font found as plotters' `sans-serif`, once.
pub fn ensure_font() -> Result<(), String> {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    RESULT
        .get_or_init(|| {
            let tried = candidates();
            for path in &tried {
                let Ok(bytes) = std::fs::read(path) else {
                    continue;
                };
                // plotters keeps the font for the life of the process.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return Ok(());
                }
            }
            Err(format!(
                "no usable font file for plot text (tried {}); set INFERBENCH_FONT to a .ttf file or run `bash ci/setup.sh`",
                tried
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
        .clone()
}
