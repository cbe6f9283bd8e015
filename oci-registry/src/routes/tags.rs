//! `GET /v2/<name>/tags/list`, with `n`/`last` paging.

use axum::http::header::{CONTENT_TYPE, LINK};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use ocikit_types::{ErrorCode, TagList};

use super::paging::page;
use super::{hv, ApiError, Call};
use crate::RepositoryName;

pub(crate) async fn handle(call: Call, name: RepositoryName) -> Result<Response, ApiError> {
    if call.method != Method::GET && call.method != Method::HEAD {
        return Err(ApiError::unsupported(format!("{} on tags", call.method)));
    }
    let n = name.clone();
    let tags = call.state.run(move |s| s.tags(&n)).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NameUnknown,
            format!("repository {name} is unknown"),
        )
    })?;
    let (tags, link) = page(&call, tags, &format!("/v2/{name}/tags/list"))?;
    let json = serde_json::to_vec(&TagList::new(name.as_str(), tags)).unwrap_or_default();
    let mut resp = Response::builder().header(CONTENT_TYPE, "application/json");
    if let Some(link) = link {
        resp = resp.header(LINK, hv(link));
    }
    let body = if call.is_head() { Vec::new() } else { json };
    Ok(resp.body(body.into()).unwrap_or_default())
}
