//! `spec`: like runc-spec(8), writes a starting config.json.

use ocikit_types::runtime::Spec;
use ocikit_types::Document;

use crate::args::{flag, Args, Flag};
use crate::failure::Step;
use crate::Failure;

pub(crate) const FLAGS: &[Flag] = &[
    flag("bundle", Some('b'), true),
    flag("rootless", None, false),
];

fn ids() -> (u32, u32) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("Uid:"), field("Gid:"))
}

pub(crate) fn main(a: Args) -> Result<i32, Failure> {
    let spec = if a.has("rootless") {
        let (uid, gid) = ids();
        Spec::default_linux_rootless(uid, gid)
    } else {
        Spec::default_linux()
    };
    let dir = std::path::PathBuf::from(a.value("bundle").unwrap_or("."));
    let path = dir.join("config.json");
    if path.exists() {
        return Err("File config.json exists. Remove it first".into());
    }
    std::fs::write(&path, spec.to_pretty_string() + "\n")
        .step(|| format!("write {}", path.display()))?;
    Ok(0)
}
