//! Finding the shared spec test vectors.

use std::path::{Path, PathBuf};

/// The `shared/vectors` folder beside the checkout, found by walking up from
/// this crate. `None` when it is missing on a user's machine (the test is
/// reported ignored, with the reason); under `CI=true` the test fails.
pub(crate) fn root(suite: &str) -> Option<PathBuf> {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in start.ancestors() {
        let candidate = dir.join("shared").join("vectors");
        if candidate.join("README.md").is_file() {
            return Some(candidate);
        }
    }
    testkit::need::missing(format!(
        "no {suite} vectors: no shared/vectors folder beside any parent of {}",
        start.display()
    ));
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
