//! The error convention, checked: each layer of an error chain says what
//! failed at its level only, and its cause comes from
//! [`std::error::Error::source`], so a chain printer shows each cause once.

use std::error::Error;

/// Each layer's Display, outermost first.
pub fn chain(e: &(dyn Error + 'static)) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push(c.to_string());
        cause = c.source();
    }
    out
}

/// Asserts that no layer's message repeats the next layer's (the cause is
/// chained, not formatted in), that no layer is empty, and that the chain
/// has at least `min_depth` layers. Returns the chain.
///
/// # Panics
/// When the convention is broken, naming the layers.
pub fn assert_each_cause_once(e: &(dyn Error + 'static), min_depth: usize) -> Vec<String> {
    let layers = chain(e);
    assert!(
        layers.len() >= min_depth,
        "expected at least {min_depth} layers, found {layers:#?}"
    );
    for (i, pair) in layers.windows(2).enumerate() {
        assert!(
            !pair[0].contains(pair[1].as_str()),
            "layer {i} repeats its cause:\n  {}\n  caused by: {}\n(whole chain: {layers:#?})",
            pair[0],
            pair[1]
        );
    }
    for (i, l) in layers.iter().enumerate() {
        assert!(!l.trim().is_empty(), "layer {i} is empty: {layers:#?}");
    }
    layers
}
