//! Manifests through the cache: fetched into storage when missing (by
//! digest) or when their tag is stale (by tag); the usual handler then
//! serves them from storage.

use std::sync::Arc;

use ocikit_distribution::PulledManifest;
use ocikit_types::Digest;

use super::Proxy;
use crate::api_error::ApiError;
use crate::api_path::parse_digest;
use crate::storage::StoredManifest;
use crate::{is_tag, RepositoryName, Storage};

/// Makes storage hold what `GET /v2/<name>/manifests/<r>` should answer
/// (or nothing, for a manifest the upstream does not have either).
pub(super) async fn ensure(
    proxy: &Proxy,
    storage: &Arc<dyn Storage>,
    name: RepositoryName,
    r: &str,
) -> Result<(), ApiError> {
    if r.contains(':') {
        let digest = parse_digest(r)?;
        return by_digest(proxy, storage, name, digest).await;
    }
    if !is_tag(r) {
        // The usual handler refuses it.
        return Ok(());
    }
    by_tag(proxy, storage, name, r).await
}

async fn by_digest(
    proxy: &Proxy,
    storage: &Arc<dyn Storage>,
    name: RepositoryName,
    digest: Digest,
) -> Result<(), ApiError> {
    let (n, d) = (name.clone(), digest.clone());
    if crate::storage::run(storage, move |s| s.manifest(&n, &d))
        .await?
        .is_some()
    {
        return Ok(());
    }
    let r = proxy.reference(&name, &format!("@{digest}"))?;
    match proxy.client.pull_manifest(&r).await {
        Ok(m) => store(storage, name, m, None).await,
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(proxy.failed("the manifest", &e)),
    }
}

async fn by_tag(
    proxy: &Proxy,
    storage: &Arc<dyn Storage>,
    name: RepositoryName,
    tag: &str,
) -> Result<(), ApiError> {
    let (n, t) = (name.clone(), tag.to_owned());
    let cached = crate::storage::run(storage, move |s| match s.resolve_tag(&n, &t)? {
        Some(d) => Ok(s.manifest(&n, &d)?.map(|_| d)),
        None => Ok(None),
    })
    .await?;
    let Some(cached) = cached else {
        // Nothing cached: one GET by tag, verified against the digest
        // the upstream states.
        let r = proxy.reference(&name, &format!(":{tag}"))?;
        return match proxy.client.pull_manifest(&r).await {
            Ok(m) => {
                store(storage, name.clone(), m, Some(tag)).await?;
                proxy.mark_checked(&name, tag, true);
                Ok(())
            }
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(proxy.failed("the manifest", &e)),
        };
    };
    if proxy.is_fresh(&name, tag) {
        return Ok(());
    }
    let r = proxy.reference(&name, &format!(":{tag}"))?;
    let now = match proxy.client.head_manifest(&r).await {
        Ok(Some(desc)) => desc.digest,
        Ok(None) => {
            // Gone upstream: gone here.
            proxy.mark_checked(&name, tag, false);
            let t = tag.to_owned();
            crate::storage::run(storage, move |s| s.delete_tag(&name, &t)).await?;
            return Ok(());
        }
        Err(e) => {
            tracing::warn!(
                upstream = proxy.upstream.url(),
                error = &e as &dyn std::error::Error,
                "cannot check tag {tag} of {name} upstream; serving the cached {cached}"
            );
            return Ok(());
        }
    };
    if now != cached {
        let (n, d) = (name.clone(), now.clone());
        let local = crate::storage::run(storage, move |s| s.manifest(&n, &d)).await?;
        match local {
            Some(m) => {
                let (n, t) = (name.clone(), tag.to_owned());
                crate::storage::run(storage, move |s| s.put_manifest(&n, &m, Some(&t))).await?;
            }
            None => {
                let r = proxy.reference(&name, &format!("@{now}"))?;
                match proxy.client.pull_manifest(&r).await {
                    Ok(m) => store(storage, name.clone(), m, Some(tag)).await?,
                    Err(e) => {
                        // The cached manifest is still better than none.
                        tracing::warn!(
                            upstream = proxy.upstream.url(),
                            error = &e as &dyn std::error::Error,
                            "cannot fetch {now}, tag {tag} of {name} upstream; serving the cached {cached}"
                        );
                        return Ok(());
                    }
                }
            }
        }
    }
    proxy.mark_checked(&name, tag, true);
    Ok(())
}

/// Stores a pulled (verified) manifest, tagged when `tag` is given.
async fn store(
    storage: &Arc<dyn Storage>,
    name: RepositoryName,
    m: PulledManifest,
    tag: Option<&str>,
) -> Result<(), ApiError> {
    let stored = StoredManifest::new(m.digest, m.media_type.to_string(), m.bytes);
    let tag = tag.map(str::to_owned);
    crate::storage::run(storage, move |s| {
        s.put_manifest(&name, &stored, tag.as_deref())
    })
    .await?;
    Ok(())
}
