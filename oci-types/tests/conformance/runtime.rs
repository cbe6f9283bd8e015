//! Runs the runtime-spec conformance vectors (`schema/test/{config,features,
//! state}/{good,bad}` upstream) through parsing and validation, reading them
//! in place from the shared vectors directory.

use ocikit_types::runtime::{Features, Spec, State};
use ocikit_types::{Document, Error};

use crate::vectors;

/// Parses and validates `bytes` as the document of kind `kind`.
fn check(kind: &str, bytes: &[u8]) -> Result<(), Error> {
    fn run<T: Document + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> Result<(), Error> {
        let doc = T::from_slice(bytes)?;
        doc.validate()?;
        // Whatever passes must survive a write and a read unchanged.
        let written = doc.to_canonical_vec();
        let again = T::from_slice(&written)?;
        assert_eq!(again, doc, "canonical round trip changed the document");
        // Nothing is lost: the written JSON equals the input, except that
        // empty lists, which mean the same as absent ones, are left out.
        let input: serde_json::Value = serde_json::from_slice(bytes).expect("parsed before");
        let output: serde_json::Value = serde_json::from_slice(&written).expect("just written");
        assert_eq!(without_empty_lists(output), without_empty_lists(input));
        Ok(())
    }
    match kind {
        "config" => run::<Spec>(bytes),
        "features" => run::<Features>(bytes),
        "state" => run::<State>(bytes),
        other => panic!("unexpected vector kind {other}"),
    }
}

/// `value` with every object member whose value is `[]` removed.
fn without_empty_lists(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| (k, without_empty_lists(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_empty_lists).collect()),
        other => other,
    }
}

fn runtime_spec_vectors_agree_with_upstream() {
    let Some(root) = vectors::root("runtime-spec") else {
        return;
    };
    let root = root.join("runtime-spec");

    let mut total = 0;
    let mut disagreements = Vec::new();
    for expect_valid in [true, false] {
        let validity = if expect_valid { "valid" } else { "invalid" };
        for kind in ["config", "features", "state"] {
            let dir = root.join(validity).join(kind);
            for file in vectors::cases(&dir) {
                total += 1;
                let bytes = std::fs::read(&file)
                    .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
                let outcome = check(kind, &bytes);
                let name = format!(
                    "{validity}/{kind}/{}",
                    file.file_name().unwrap().to_string_lossy()
                );
                match (&outcome, expect_valid) {
                    (Ok(()), true) => println!("ok   {name}"),
                    (Err(e), false) => println!("ok   {name}: rejected: {e}"),
                    (Ok(()), false) => disagreements.push(format!("{name}: accepted")),
                    (Err(e), true) => disagreements.push(format!("{name}: rejected: {e}")),
                }
            }
        }
    }
    println!(
        "runtime-spec vectors: {} of {total} agree with upstream",
        total - disagreements.len()
    );
    assert!(
        disagreements.is_empty(),
        "disagreements:\n{}",
        disagreements.join("\n")
    );
    assert_eq!(total, 19, "expected 19 runtime-spec vectors");
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] =
    testkit::tests![runtime_spec_vectors_agree_with_upstream];
