//! `GET /v2/_catalog`, with `n`/`last` paging.

use axum::http::header::{CONTENT_TYPE, LINK};
use axum::http::Method;
use axum::response::Response;
use ocikit_types::Catalog;

use super::paging::page;
use super::{hv, ApiError, Call};

pub(crate) async fn handle(call: Call) -> Result<Response, ApiError> {
    if call.method != Method::GET && call.method != Method::HEAD {
        return Err(ApiError::unsupported(format!(
            "{} on the catalog",
            call.method
        )));
    }
    let mut repos = call.state.run(|s| s.repositories()).await?;
    repos.retain(|r| call.grant.lists(r));
    let (repos, link) = page(&call, repos, "/v2/_catalog")?;
    let json = serde_json::to_vec(&Catalog::new(repos)).unwrap_or_default();
    let mut resp = Response::builder().header(CONTENT_TYPE, "application/json");
    if let Some(link) = link {
        resp = resp.header(LINK, hv(link));
    }
    let body = if call.is_head() { Vec::new() } else { json };
    Ok(resp.body(body.into()).unwrap_or_default())
}
