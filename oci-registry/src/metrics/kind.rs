//! The route kind of a request path, the label the metrics and the
//! access log count it under.

use super::RouteKind;
use crate::api_path::{parse, Route};
use crate::RepositoryName;

/// The route kind of a request path (a metrics label) and the
/// repository it names, when the name is valid.
pub(crate) fn kind(path: &str) -> (RouteKind, Option<&str>) {
    use RouteKind as K;
    let rest = match path.strip_prefix("/v2") {
        Some("" | "/") => return (K::Base, None),
        Some(rest) => rest.strip_prefix('/').unwrap_or(""),
        None => "",
    };
    let (kind, name) = match parse(rest) {
        Some(Route::Catalog) => return (K::Catalog, None),
        Some(Route::Tags(n)) => (K::Tags, n),
        Some(Route::Manifest(n, _)) => (K::Manifest, n),
        Some(Route::Blob(n, _)) => (K::Blob, n),
        Some(Route::Uploads(n)) => (K::BlobUpload, n),
        Some(Route::Upload(n, _)) => (K::BlobUploadChunk, n),
        Some(Route::Referrers(n, _)) => (K::Referrers, n),
        None => return (K::Unknown, None),
    };
    (kind, RepositoryName::parse(name).is_some().then_some(name))
}
