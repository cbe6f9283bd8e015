//! The `/v2/` paths of the API parsed into a [`Route`] (repository names
//! hold slashes, so axum's path patterns cannot split them), and the
//! digests they name. Shared by the routes, the pull-through cache and
//! the metrics.

use ocikit_types::Digest;

use crate::api_error::ApiError;

/// One API endpoint with its path parameters.
#[derive(Debug, PartialEq)]
pub(crate) enum Route<'a> {
    Catalog,
    Tags(&'a str),
    Manifest(&'a str, &'a str),
    Blob(&'a str, &'a str),
    Uploads(&'a str),
    Upload(&'a str, &'a str),
    Referrers(&'a str, &'a str),
}

/// Splits a path after `/v2/` from its end, where the endpoint's fixed
/// words are.
pub(crate) fn parse(path: &str) -> Option<Route<'_>> {
    if path == "_catalog" {
        return Some(Route::Catalog);
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    if let Some(name) = path.strip_suffix("/tags/list") {
        return Some(Route::Tags(name));
    }
    if let Some(name) = path.strip_suffix("/blobs/uploads") {
        return Some(Route::Uploads(name));
    }
    let (rest, last) = path.rsplit_once('/')?;
    let (name, word) = rest.rsplit_once('/')?;
    match word {
        "manifests" => Some(Route::Manifest(name, last)),
        "blobs" => Some(Route::Blob(name, last)),
        "referrers" => Some(Route::Referrers(name, last)),
        "uploads" => {
            let name = name.strip_suffix("/blobs")?;
            Some(Route::Upload(name, last))
        }
        _ => None,
    }
}

/// A digest from a URL or parameter, of an algorithm this registry can
/// compute.
pub(crate) fn parse_digest(s: &str) -> Result<Digest, ApiError> {
    let d: Digest = s
        .parse()
        .map_err(|_| ApiError::digest_invalid(format!("{s:?} is not a digest")))?;
    if d.registered_algorithm().is_none() {
        return Err(ApiError::digest_invalid(format!(
            "digest algorithm {} is not supported",
            d.algorithm()
        )));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_from_their_end() {
        assert_eq!(parse("_catalog"), Some(Route::Catalog));
        assert_eq!(parse("a/b/tags/list"), Some(Route::Tags("a/b")));
        assert_eq!(parse("a/manifests/v1"), Some(Route::Manifest("a", "v1")));
        assert_eq!(parse("a/blobs/uploads/"), Some(Route::Uploads("a")));
        assert_eq!(parse("a/blobs/uploads"), Some(Route::Uploads("a")));
        assert_eq!(parse("a/blobs/uploads/x"), Some(Route::Upload("a", "x")));
        assert_eq!(
            parse("a/blobs/sha256:0"),
            Some(Route::Blob("a", "sha256:0"))
        );
        assert_eq!(
            parse("blobs/blobs/sha256:0"),
            Some(Route::Blob("blobs", "sha256:0"))
        );
        assert_eq!(
            parse("a/referrers/sha256:0"),
            Some(Route::Referrers("a", "sha256:0"))
        );
        assert_eq!(parse("a"), None);
        assert_eq!(parse("a/other/x"), None);
    }
}
