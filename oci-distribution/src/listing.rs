//! Listings: a repository's tags, the registry's catalog, and the
//! referrers of a manifest (API or tag-schema fallback), with `Link`
//! pagination.

use ocikit_types::{AnyManifest, Digest, Document, ImageIndex, Reference, TagList};
use reqwest::header::ACCEPT;
use reqwest::{Method, StatusCode};

use crate::client::{scope, Access, Client};
use crate::transport::{check, header_str, read_limited, urlencode};
use crate::Error;

impl Client {
    /// Lists the repository's tags, following `Link` pagination (at most
    /// 10,000 pages). `page_size` asks for that many per page (`n`).
    ///
    /// # Errors
    /// [`Error::Status`], [`Error::Document`].
    pub async fn tags(&self, r: &Reference, page_size: Option<u32>) -> Result<Vec<String>, Error> {
        let mut url = format!("{}/tags/list", self.base(r));
        if let Some(n) = page_size {
            url.push_str(&format!("?n={n}"));
        }
        let scopes = [scope(r.repository(), Access::Pull)];
        let mut tags = Vec::new();
        for _ in 0..10_000 {
            let resp = self.send_ok(r, &scopes, Method::GET, &url, &|b| b).await?;
            let next = next_page(&url, header_str(resp.headers(), "link"))?;
            let body = read_limited(resp, 64 << 20, "tag list", &url).await?;
            let list = TagList::from_slice(&body).map_err(|source| Error::Document {
                url: url.clone(),
                source,
            })?;
            let before = tags.len();
            tags.extend(list.tags);
            match next {
                Some(n) if n != url && tags.len() > before => url = n,
                _ => return Ok(tags),
            }
        }
        Ok(tags)
    }

    /// Lists the registry's repositories (`GET /v2/_catalog`), following
    /// `Link` pagination (at most 10,000 pages). Only `r`'s registry is
    /// used. Many registries restrict or disable this endpoint.
    ///
    /// # Errors
    /// [`Error::Status`] (404 or 401 where the catalog is not offered),
    /// [`Error::Document`].
    pub async fn catalog(
        &self,
        r: &Reference,
        page_size: Option<u32>,
    ) -> Result<Vec<String>, Error> {
        let base = self.base(r);
        let root = &base[..base.len() - r.repository().len() - 1];
        let mut url = format!("{root}/_catalog");
        if let Some(n) = page_size {
            url.push_str(&format!("?n={n}"));
        }
        let scopes = ["registry:catalog:*".to_owned()];
        let mut repositories = Vec::new();
        for _ in 0..10_000 {
            let resp = self.send_ok(r, &scopes, Method::GET, &url, &|b| b).await?;
            let next = next_page(&url, header_str(resp.headers(), "link"))?;
            let body = read_limited(resp, 64 << 20, "catalog", &url).await?;
            let page =
                ocikit_types::Catalog::from_slice(&body).map_err(|source| Error::Document {
                    url: url.clone(),
                    source,
                })?;
            let before = repositories.len();
            repositories.extend(page.repositories);
            match next {
                Some(n) if n != url && repositories.len() > before => url = n,
                _ => return Ok(repositories),
            }
        }
        Ok(repositories)
    }

    /// The manifests that refer to `subject` (artifacts: signatures,
    /// SBOMs), filtered by `artifact_type` when given. Uses the referrers
    /// API, falling back to the `sha256-<hex>` tag schema for registries
    /// without it.
    ///
    /// # Errors
    /// [`Error::Status`], [`Error::Document`].
    pub async fn referrers(
        &self,
        r: &Reference,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<ImageIndex, Error> {
        let mut url = format!("{}/referrers/{subject}", self.base(r));
        if let Some(t) = artifact_type {
            url.push_str(&format!("?artifactType={}", urlencode(t)));
        }
        let scopes = [scope(r.repository(), Access::Pull)];
        let resp = self
            .send(r, &scopes, Method::GET, &url, &|b| {
                b.header(ACCEPT, "application/vnd.oci.image.index.v1+json")
            })
            .await?;
        let is_index = header_str(resp.headers(), "content-type")
            .is_some_and(|c| c.starts_with("application/vnd.oci.image.index.v1+json"));
        let mut index = if resp.status().is_success() && is_index {
            let filtered = header_str(resp.headers(), "oci-filters-applied")
                .is_some_and(|f| f.contains("artifactType"));
            let body = read_limited(resp, self.cfg_max_manifest(), "referrers index", &url).await?;
            let idx = ImageIndex::from_slice(&body).map_err(|source| Error::Document {
                url: url.clone(),
                source,
            })?;
            if filtered {
                return Ok(idx);
            }
            idx
        } else if resp.status() == StatusCode::NOT_FOUND || resp.status().is_success() {
            self.referrers_tag_index(r, subject)
                .await?
                .unwrap_or_else(|| ImageIndex::new(Vec::new()))
        } else {
            return Err(check(resp, "GET", &url)
                .await
                .err()
                .unwrap_or(Error::Protocol {
                    url,
                    expected: "a referrers index",
                    found: "an unexpected answer".into(),
                }));
        };
        if let Some(t) = artifact_type {
            index
                .manifests
                .retain(|d| d.artifact_type.as_ref().is_some_and(|a| a.as_str() == t));
        }
        Ok(index)
    }

    /// The index under the fallback tag `<alg>-<hex>` for `subject`, if any.
    pub(crate) async fn referrers_tag_index(
        &self,
        r: &Reference,
        subject: &Digest,
    ) -> Result<Option<ImageIndex>, Error> {
        let tag = format!("{}-{}", subject.algorithm(), subject.encoded());
        let tr = Reference::try_from(format!("{}/{}:{tag}", r.registry(), r.repository()))
            .map_err(|source| Error::Document {
                url: tag.clone(),
                source,
            })?;
        match self.pull_manifest(&tr).await {
            Ok(p) => match p.manifest {
                AnyManifest::Index(i) => Ok(Some(*i)),
                _ => Ok(None),
            },
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The next page of a listing fetched from `url`, from its `Link` header:
/// the `rel="next"` target resolved against `url`.
///
/// The client sends the registry's credentials with every page, so a
/// target on another origin (scheme, host or port) is a protocol error,
/// never followed: a registry cannot make the client hand them elsewhere.
pub(crate) fn next_page(url: &str, link: Option<&str>) -> Result<Option<String>, Error> {
    let Some(target) = link.and_then(parse_next_link) else {
        return Ok(None);
    };
    let cross_origin = || Error::Protocol {
        url: url.to_owned(),
        expected: "a Link rel=\"next\" target on the registry's own origin",
        found: target.clone(),
    };
    let base = reqwest::Url::parse(url).map_err(|_| cross_origin())?;
    let next = base.join(&target).map_err(|_| cross_origin())?;
    if next.origin() != base.origin() {
        return Err(cross_origin());
    }
    Ok(Some(next.to_string()))
}

/// The `rel="next"` target of a `Link` header (RFC 8288): the URI
/// reference between `<` and `>` of the first link whose `rel` parameter
/// lists `next`.
pub(crate) fn parse_next_link(link: &str) -> Option<String> {
    for part in link.split(',') {
        let part = part.trim();
        let Some(rest) = part.strip_prefix('<') else {
            continue;
        };
        let Some((target, params)) = rest.split_once('>') else {
            continue;
        };
        let is_next = params.split(';').any(|p| {
            let Some((name, value)) = p.split_once('=') else {
                return false;
            };
            name.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.trim().to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        assert_eq!(
            parse_next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(parse_next_link(r#"<x>; rel="prev""#), None);
        assert_eq!(parse_next_link("garbage"), None);
        assert_eq!(parse_next_link("<"), None);
        assert_eq!(
            parse_next_link(r#"<a>; rel="prev", <b>; REL="prev next""#).as_deref(),
            Some("b")
        );
        assert_eq!(parse_next_link("<c>; rel=next").as_deref(), Some("c"));
        // `next` only as a parameter value of another name is no link.
        assert_eq!(parse_next_link(r#"<d>; title="rel=next""#), None);
    }

    #[test]
    fn issue_14_next_pages_stay_on_the_registry() {
        let url = "https://reg.example:5000/v2/a/tags/list?n=2";
        let next = |l: &str| next_page(url, Some(l));
        assert_eq!(
            next(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#)
                .unwrap()
                .as_deref(),
            Some("https://reg.example:5000/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(next(r#"<x>; rel="prev""#).unwrap(), None);
        assert_eq!(next_page(url, None).unwrap(), None);
        for elsewhere in [
            "<https://evil.example/v2/a/tags/list>; rel=next",
            "<http://reg.example:5000/v2/a/tags/list>; rel=next",
            "<https://reg.example:5001/v2/a/tags/list>; rel=next",
            "<//evil.example/v2/>; rel=next",
        ] {
            let e = next(elsewhere).unwrap_err();
            assert!(
                matches!(&e, Error::Protocol { found, .. } if elsewhere.contains(found.as_str())),
                "{elsewhere}: {e}"
            );
        }
    }
}
