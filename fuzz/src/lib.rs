//! Properties every fuzz target checks, shared by the targets.

use ocikit_types::Document;

/// Parsing arbitrary bytes never panics; whatever parses also validates
/// without panicking, and its canonical form parses back to an equal value.
pub fn document<T: Document + PartialEq + std::fmt::Debug>(data: &[u8]) {
    let Ok(doc) = T::from_slice(data) else {
        return;
    };
    let _ = doc.validate();
    let canonical = doc.to_canonical_vec();
    let again = T::from_slice(&canonical).expect("canonical bytes parse back");
    assert_eq!(again, doc, "canonical round trip changed the document");
    assert_eq!(again.to_canonical_vec(), canonical, "canonical form is not stable");
}

/// A value with a grammar: parsing arbitrary text never panics, and what
/// parses displays as text that parses back to an equal value.
pub fn value<T>(data: &[u8])
where
    T: std::str::FromStr + std::fmt::Display + PartialEq + std::fmt::Debug,
{
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(v) = s.parse::<T>() else {
        return;
    };
    let shown = v.to_string();
    let again: T = shown
        .parse()
        .unwrap_or_else(|_| panic!("display form {shown:?} does not parse"));
    assert_eq!(again, v);
}
