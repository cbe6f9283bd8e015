//! The workspace's shape, checked on its sources: `unsafe` code lives
//! only in `oci-runtime/src/sys/`, which the compiler enforces, and no two
//! modules import each other, directly or round a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The source folders of the workspace's library and program crates.
const CRATES: &[&str] = &[
    "src",
    "oci-types/src",
    "oci-image/src",
    "oci-distribution/src",
    "oci-registry/src",
    "oci-runtime/src",
    "ocikit-runc/src",
    "testkit/src",
];

/// The one folder whose code may be unsafe.
const UNSAFE_ROOM: &str = "oci-runtime/src/sys";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A line without its `//` comment (a `//` inside a string cuts the line
/// short, which only hides text from the checks below).
fn code(line: &str) -> &str {
    line.split_once("//").map_or(line, |(c, _)| c)
}

fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

#[test]
fn unsafe_code_only_in_the_runtime_sys_module() {
    let mut found = Vec::new();
    for krate in CRATES {
        let mut files = Vec::new();
        rust_files(&root().join(krate), &mut files);
        for f in files {
            let rel = f.strip_prefix(root()).unwrap();
            if rel.starts_with(UNSAFE_ROOM) {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            for (n, line) in text.lines().enumerate() {
                if has_word(code(line), "unsafe") {
                    found.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "unsafe outside {UNSAFE_ROOM}:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_crate_root_forbids_unsafe_code_and_the_runtime_allows_it_in_sys_alone() {
    for (root_file, attr) in [
        ("src/lib.rs", "#![forbid(unsafe_code)]"),
        ("oci-types/src/lib.rs", "#![forbid(unsafe_code)]"),
        ("oci-image/src/lib.rs", "#![forbid(unsafe_code)]"),
        ("oci-distribution/src/lib.rs", "#![forbid(unsafe_code)]"),
        ("oci-registry/src/lib.rs", "#![forbid(unsafe_code)]"),
        ("oci-registry/src/main.rs", "#![forbid(unsafe_code)]"),
        ("ocikit-runc/src/main.rs", "#![forbid(unsafe_code)]"),
        ("testkit/src/lib.rs", "#![forbid(unsafe_code)]"),
        ("oci-runtime/src/lib.rs", "#![deny(unsafe_code)]"),
    ] {
        let text = std::fs::read_to_string(root().join(root_file)).unwrap();
        assert!(text.contains(attr), "{root_file} lacks {attr}");
    }
    // The allows: `mod sys`, and `mod premain`, whose only "unsafe" is the
    // `link_section` attribute of its `.init_array` entry.
    let lib = std::fs::read_to_string(root().join("oci-runtime/src/lib.rs")).unwrap();
    let allowed: Vec<&str> = lib
        .split("#[allow(unsafe_code)]")
        .skip(1)
        .map(|after| after.trim_start().lines().next().unwrap_or(""))
        .collect();
    assert_eq!(
        allowed,
        ["mod premain;", "mod sys;"],
        "unsafe_code allowed only there"
    );
    let premain = std::fs::read_to_string(root().join("oci-runtime/src/premain.rs")).unwrap();
    assert!(
        !premain.lines().any(|l| has_word(code(l), "unsafe")),
        "premain.rs has no unsafe block"
    );
}

/// A module's path inside its crate: `a/b.rs` and `a/b/mod.rs` are
/// `["a", "b"]`, `lib.rs` and `main.rs` are `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if !(matches!(stem, "mod") || (parts.is_empty() && matches!(stem, "lib" | "main"))) {
        parts.push(stem.to_owned());
    }
    parts
}

/// The paths a file names through `crate::`, `super::` and `self::`,
/// resolved to module paths (each as far as it goes: items are dropped
/// later against the set of modules).
fn references(module: &[String], is_dir_module: bool, text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = code(line);
        for (start, base) in [("crate::", 0usize), ("super::", 1), ("self::", 2)] {
            for (i, _) in line.match_indices(start) {
                if line[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let mut path: Vec<String> = match base {
                    0 => Vec::new(),
                    // `super` of a file module is its folder's module; of a
                    // `mod.rs` (or a file with inline modules) one up.
                    1 => {
                        let mut p = module.to_vec();
                        if is_dir_module || !p.is_empty() {
                            p.pop();
                        }
                        p
                    }
                    _ => module.to_vec(),
                };
                let rest = &line[i + start.len()..];
                expand(rest, &mut path, &mut out);
            }
        }
    }
    out
}

/// Follows `a::b::{c, d::e}` from `prefix`, pushing each full path.
fn expand(rest: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let ident: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if ident.is_empty() {
        if let Some(inner) = rest.strip_prefix('{') {
            // Split the group at depth-0 commas.
            let mut depth = 0;
            let mut item = String::new();
            for c in inner.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(item.trim(), &mut prefix.clone(), out);
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            expand(item.trim(), &mut prefix.clone(), out);
        }
        return;
    }
    prefix.push(ident.clone());
    out.push(prefix.clone());
    if let Some(next) = rest[ident.len()..].strip_prefix("::") {
        expand(next, prefix, out);
    }
}

#[test]
fn no_module_imports_round_a_circle() {
    let mut circles = Vec::new();
    for krate in CRATES {
        let src = root().join(krate);
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();
        // Edges between sibling modules, keyed by their parent.
        let mut edges: BTreeMap<Vec<String>, BTreeSet<(String, String)>> = BTreeMap::new();
        for f in &files {
            let from = module_of(&src, f);
            let is_dir_module = f.file_name().is_some_and(|n| n == "mod.rs");
            let text = std::fs::read_to_string(f).unwrap();
            for path in references(&from, is_dir_module, &text) {
                // The longest prefix that is a module of the crate.
                let Some(to) = (1..=path.len())
                    .rev()
                    .map(|n| path[..n].to_vec())
                    .find(|p| modules.contains(p))
                else {
                    continue;
                };
                let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
                if common == from.len() || common == to.len() {
                    continue; // a module and its own ancestor or descendant
                }
                edges
                    .entry(from[..common].to_vec())
                    .or_default()
                    .insert((from[common].clone(), to[common].clone()));
            }
        }
        for (parent, pairs) in &edges {
            if let Some(circle) = find_circle(pairs) {
                circles.push(format!(
                    "{krate}{}{}: {}",
                    if parent.is_empty() { "" } else { "/" },
                    parent.join("/"),
                    circle.join(" -> ")
                ));
            }
        }
    }
    assert!(
        circles.is_empty(),
        "modules that import each other:\n{}",
        circles.join("\n")
    );
}

/// A circle in the graph, as the names round it, if there is one.
fn find_circle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    let nodes: BTreeSet<&String> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
    fn visit<'a>(
        n: &'a String,
        edges: &'a BTreeSet<(String, String)>,
        stack: &mut Vec<&'a String>,
        done: &mut BTreeSet<&'a String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| *s == n) {
            let mut c: Vec<String> = stack[i..].iter().map(|s| (*s).clone()).collect();
            c.push(n.clone());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n);
        for (_, to) in edges.iter().filter(|(from, _)| from == n) {
            if let Some(c) = visit(to, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n);
        None
    }
    let mut done = BTreeSet::new();
    nodes
        .into_iter()
        .find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}
