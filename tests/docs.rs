//! The book's reference pages are generated from the code; this fails when
//! they are stale. `INFERBENCH_BLESS=1 cargo test --test docs` rewrites
//! them.

use std::path::Path;

#[test]
fn reference_pages_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/src/reference");
    let bless = std::env::var_os("INFERBENCH_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, text) in inferbench::reference_docs::pages() {
        let path = dir.join(name);
        if bless {
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale reference pages (run `INFERBENCH_BLESS=1 cargo test --test docs`): {stale:?}"
    );
}
