//! Finding the shared spec test vectors.

use std::path::{Path, PathBuf};

/// The `shared/vectors` folder beside the checkout, found by walking up from
/// this crate. `None` (after saying why) when it is missing on a user's
/// machine; a panic when it is missing in CI (`CI=true`).
pub(crate) fn root(suite: &str) -> Option<PathBuf> {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in start.ancestors() {
        let candidate = dir.join("shared").join("vectors");
        if candidate.join("README.md").is_file() {
            return Some(candidate);
        }
    }
    let msg = format!(
        "{suite} vector tests skipped: no shared/vectors folder found beside any parent of {}",
        start.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg} (CI=true requires the vectors)");
    }
    eprintln!("{msg}");
    None
}

/// The `.json` case files (not `.meta.json` sidecars) of a folder, sorted.
pub(crate) fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".json") && !name.ends_with(".meta.json")
        })
        .collect();
    out.sort();
    out
}
