//! The HTTP API: the `/v2/` paths parsed into a [`Route`] (repository
//! names hold slashes, so axum's path patterns cannot split them), then
//! one module per API area.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use ocikit_types::Digest;

use crate::state::State;
use crate::RepositoryName;

mod blobs;
mod body;
mod catalog;
mod manifests;
mod paging;
mod referrers;
mod tags;
mod uploads;

pub(crate) use crate::api_error::ApiError;
pub(crate) use manifests::{is_foreign, referrer_descriptor, subject_of};

/// The registry's routes over `state`.
pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/v2", any(ping))
        .route("/v2/", any(ping))
        .route("/v2/{*path}", any(dispatch))
        .route(crate::auth::TOKEN_PATH, any(token))
        .with_state(state)
}

/// The built-in token service, with the registry's access control.
async fn token(
    AxumState(state): AxumState<Arc<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    crate::auth::token_endpoint(state.options.auth.clone(), method, uri, headers).await
}

async fn ping(AxumState(state): AxumState<Arc<State>>, method: Method, h: HeaderMap) -> Response {
    if let Err(e) = state.options.auth.check(&h, crate::auth::Need::Ping).await {
        return e.into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return ApiError::unsupported(format!("{method} /v2/")).into_response();
    }
    (
        StatusCode::OK,
        [("docker-distribution-api-version", "registry/2.0")],
        [("content-type", "application/json")],
        "{}",
    )
        .into_response()
}

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
fn parse(path: &str) -> Option<Route<'_>> {
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

/// The route kind of a request path (a metrics label) and the
/// repository it names, when the name is valid.
pub(crate) fn kind(path: &str) -> (crate::metrics::RouteKind, Option<&str>) {
    use crate::metrics::RouteKind as K;
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

/// What a handler gets: the request's parts the API uses.
pub(crate) struct Call {
    pub(crate) state: Arc<State>,
    pub(crate) method: Method,
    pub(crate) headers: HeaderMap,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Body,
    /// Who sent the request, as access control checked it.
    pub(crate) grant: crate::auth::Grant,
}

impl Call {
    /// The first value of query parameter `key`.
    pub(crate) fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The header `name` as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn is_head(&self) -> bool {
        self.method == Method::HEAD
    }
}

async fn dispatch(AxumState(state): AxumState<Arc<State>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().strip_prefix("/v2/").unwrap_or("");
    let Some(route) = parse(path) else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            ocikit_types::ErrorCode::Unsupported,
            format!("no API at {}", parts.uri.path()),
        )
        .into_response();
    };
    let query = query(&parts.uri);
    let need = need(&route, &parts.method, &query);
    let grant = match state.options.auth.check(&parts.headers, need).await {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    let call = Call {
        grant,
        state,
        method: parts.method,
        headers: parts.headers,
        query,
        body,
    };
    #[cfg(feature = "proxy")]
    if let Some(proxy) = call.state.proxy.clone() {
        let (state, method, query) = (&call.state, &call.method, &call.query[..]);
        let req = crate::proxy::Req {
            state,
            method,
            query,
        };
        if let Some(result) = proxy.intercept(req, &route).await {
            return result.unwrap_or_else(IntoResponse::into_response);
        }
    }
    let result = match route {
        Route::Catalog => catalog::handle(call).await,
        Route::Tags(name) => with_name(name, |n| tags::handle(call, n)).await,
        Route::Manifest(name, r) => with_name(name, |n| manifests::handle(call, n, r)).await,
        Route::Blob(name, d) => with_name(name, |n| blobs::handle(call, n, d)).await,
        Route::Uploads(name) => with_name(name, |n| uploads::start(call, n)).await,
        Route::Upload(name, id) => with_name(name, |n| uploads::handle(call, n, id)).await,
        Route::Referrers(name, d) => with_name(name, |n| referrers::handle(call, n, d)).await,
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// What access control requires of a request: pull to read, push to
/// upload or put, delete to delete (cancelling an upload is part of
/// pushing).
fn need<'a>(
    route: &Route<'a>,
    method: &Method,
    query: &'a [(String, String)],
) -> crate::auth::Need<'a> {
    use crate::auth::{Action, Need};
    let by_method = match *method {
        Method::DELETE => Action::Delete,
        Method::GET | Method::HEAD => Action::Pull,
        _ => Action::Push,
    };
    match *route {
        Route::Catalog => Need::Catalog,
        Route::Uploads(n) if query.iter().any(|(k, _)| k == "mount") => {
            match query.iter().find(|(k, _)| k == "from") {
                Some((_, from)) => Need::Mount(n, from),
                None => Need::Repository(n, Action::Push),
            }
        }
        Route::Uploads(n) | Route::Upload(n, _) => Need::Repository(n, Action::Push),
        Route::Tags(n) | Route::Manifest(n, _) | Route::Blob(n, _) | Route::Referrers(n, _) => {
            Need::Repository(n, by_method)
        }
    }
}

async fn with_name<F, Fut>(name: &str, f: F) -> Result<Response, ApiError>
where
    F: FnOnce(RepositoryName) -> Fut,
    Fut: std::future::Future<Output = Result<Response, ApiError>>,
{
    match RepositoryName::parse(name) {
        Some(n) => f(n).await,
        None => Err(ApiError::name_invalid(name)),
    }
}

fn query(uri: &Uri) -> Vec<(String, String)> {
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default()
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

/// Stored bytes handed to a reply body without a copy.
pub(crate) struct Shared(pub(crate) Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A header value from text the server formed (digests, paths of valid
/// names, numbers), which is always visible ASCII.
pub(crate) fn hv(s: impl AsRef<str>) -> HeaderValue {
    HeaderValue::from_str(s.as_ref()).unwrap_or(HeaderValue::from_static(""))
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
