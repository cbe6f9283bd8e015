//! `GET /v2/<name>/referrers/<digest>`, with the `artifactType` filter.

use axum::http::header::CONTENT_TYPE;
use axum::http::Method;
use axum::response::Response;
use ocikit_types::{ImageIndex, MediaType};

use super::{parse_digest, ApiError, Call};
use crate::RepositoryName;

pub(crate) async fn handle(
    call: Call,
    name: RepositoryName,
    digest: &str,
) -> Result<Response, ApiError> {
    if call.method != Method::GET && call.method != Method::HEAD {
        return Err(ApiError::unsupported(format!(
            "{} on referrers",
            call.method
        )));
    }
    let digest = parse_digest(digest)?;
    let mut list = call.state.run(move |s| s.referrers(&name, &digest)).await?;
    let filter = call.param("artifactType").map(str::to_owned);
    if let Some(t) = &filter {
        list.retain(|d| d.artifact_type.as_ref().is_some_and(|a| a.as_str() == t));
    }
    let json = serde_json::to_vec(&ImageIndex::new(list)).unwrap_or_default();
    let mut resp = Response::builder().header(CONTENT_TYPE, MediaType::ImageIndex.as_str());
    if filter.is_some() {
        resp = resp.header("oci-filters-applied", "artifactType");
    }
    let body = if call.is_head() { Vec::new() } else { json };
    Ok(resp.body(body.into()).unwrap_or_default())
}
