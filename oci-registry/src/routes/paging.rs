//! `n` and `last` paging of tag and repository lists, with the `Link`
//! header pointing at the next page.

use axum::http::StatusCode;
use ocikit_types::ErrorCode;

use super::{ApiError, Call};

/// The page of the sorted `items` after `last`, at most `n` long, and
/// the `Link` header value for the next page when more remain.
pub(crate) fn page(
    call: &Call,
    items: Vec<String>,
    path: &str,
) -> Result<(Vec<String>, Option<String>), ApiError> {
    let n = match call.param("n") {
        Some(n) => Some(n.parse::<usize>().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::PaginationNumberInvalid,
                format!("n={n:?} is not a count"),
            )
        })?),
        None => None,
    };
    let mut items: Vec<String> = match call.param("last") {
        Some(last) => items.into_iter().filter(|t| t.as_str() > last).collect(),
        None => items,
    };
    let Some(n) = n else {
        return Ok((items, None));
    };
    if items.len() <= n {
        return Ok((items, None));
    }
    items.truncate(n);
    let link = items
        .last()
        .map(|last| format!("<{path}?n={n}&last={last}>; rel=\"next\""));
    Ok((items, link))
}
