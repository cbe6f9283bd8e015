//! `GET /v2/<name>/tags/list` through the cache: the upstream's list,
//! with `n`/`last` paging applied here; the cached tags when the upstream
//! cannot be reached.

use axum::http::header::{CONTENT_TYPE, LINK};
use axum::http::StatusCode;
use axum::response::Response;
use ocikit_types::{ErrorCode, TagList};

use super::{Proxy, Req};
use crate::api_error::ApiError;
use crate::reply::hv;
use crate::RepositoryName;

/// The answer, or `None` to let the usual handler list the cached tags.
pub(super) async fn list(
    proxy: &Proxy,
    req: Req<'_>,
    name: RepositoryName,
) -> Option<Result<Response, ApiError>> {
    let r = match proxy.reference(&name, "") {
        Ok(r) => r,
        Err(e) => return Some(Err(e)),
    };
    let mut tags = match proxy.client.tags(&r, None).await {
        Ok(t) => t,
        Err(e) if e.is_not_found() => {
            return Some(Err(ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NameUnknown,
                format!("repository {name} is unknown upstream"),
            )))
        }
        Err(e) => {
            tracing::warn!(
                upstream = proxy.upstream.url(),
                error = &e as &dyn std::error::Error,
                "cannot list the tags of {name} upstream; listing the cached ones"
            );
            return None;
        }
    };
    tags.sort();
    tags.dedup();
    Some(page(req, name, tags))
}

/// The page the query asks for (`last`: after that tag; `n`: at most
/// that many), with a `Link` to the next one.
fn page(req: Req<'_>, name: RepositoryName, tags: Vec<String>) -> Result<Response, ApiError> {
    let param = |k: &str| req.query.iter().find(|(q, _)| q == k).map(|(_, v)| v);
    let mut tags: Vec<String> = match param("last") {
        Some(last) => tags.into_iter().filter(|t| t > last).collect(),
        None => tags,
    };
    let mut link = None;
    if let Some(n) = param("n") {
        let n: usize = n.parse().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::PaginationNumberInvalid,
                format!("n={n:?} is not a number"),
            )
        })?;
        if tags.len() > n {
            tags.truncate(n);
            if let Some(last) = tags.last() {
                link = Some(format!(
                    "</v2/{name}/tags/list?n={n}&last={last}>; rel=\"next\""
                ));
            }
        }
    }
    let json = serde_json::to_vec(&TagList::new(name.as_str(), tags)).unwrap_or_default();
    let mut resp = Response::builder().header(CONTENT_TYPE, "application/json");
    if let Some(link) = link {
        resp = resp.header(LINK, hv(link));
    }
    let body = if *req.method == axum::http::Method::HEAD {
        Vec::new()
    } else {
        json
    };
    Ok(resp.body(body.into()).unwrap_or_default())
}
