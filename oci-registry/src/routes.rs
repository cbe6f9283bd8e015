//! The HTTP API: the `/v2/` paths parsed into a [`Route`] (repository
//! names hold slashes, so axum's path patterns cannot split them), then
//! one module per API area.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, Request, State as AxumState};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

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
use crate::api_path::parse;
pub(crate) use crate::api_path::{parse_digest, Route};
pub(crate) use crate::reply::hv;
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
        let (storage, method, query) = (&call.state.storage, &call.method, &call.query[..]);
        let req = crate::proxy::Req {
            storage,
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

/// Stored bytes handed to a reply body without a copy.
pub(crate) struct Shared(pub(crate) Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
