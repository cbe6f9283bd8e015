//! Pieces of replies shared by the API's handlers and the pull-through
//! cache.

use axum::http::HeaderValue;

/// A header value from text the server formed (digests, paths of valid
/// names, numbers), which is always visible ASCII.
pub(crate) fn hv(s: impl AsRef<str>) -> HeaderValue {
    HeaderValue::from_str(s.as_ref()).unwrap_or(HeaderValue::from_static(""))
}
