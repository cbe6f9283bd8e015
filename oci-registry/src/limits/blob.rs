//! The cap on a blob upload's size ([`Limits::blob_size_limit`]): an
//! upload whose bytes, counted over all its requests, would pass it is
//! answered 413 `SIZE_INVALID`. A request that announces too many bytes
//! (by `Content-Length` or `Content-Range`) is refused before its body is
//! read and leaves the session as it was; a body without a length that
//! turns out too long cancels its session, so none of it stays stored.
//!
//! [`Limits::blob_size_limit`]: super::Limits::blob_size_limit

use axum::http::StatusCode;
use ocikit_types::ErrorCode;

use crate::api_error::ApiError;

/// 413 `SIZE_INVALID` for an upload of `found` bytes (or more) over `max`.
pub(crate) fn too_large(max: u64, found: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::SizeInvalid,
        format!("the blob upload would hold at least {found} bytes, more than the limit of {max}"),
    )
}

/// Checks that an upload holding `stored` bytes may take `more`; the
/// sum saturates, so a hostile length cannot wrap round.
pub(crate) fn admit(max: Option<u64>, stored: u64, more: u64) -> Result<(), ApiError> {
    match max {
        Some(max) if stored.saturating_add(more) > max => {
            Err(too_large(max, stored.saturating_add(more)))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_counts_what_is_stored_and_what_comes() {
        assert!(admit(None, u64::MAX, u64::MAX).is_ok());
        assert!(admit(Some(10), 4, 6).is_ok());
        assert!(admit(Some(10), 0, 10).is_ok());
        let e = admit(Some(10), 4, 7).unwrap_err();
        let r = axum::response::IntoResponse::into_response(e);
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(admit(Some(10), u64::MAX, 1).is_err());
    }
}
