//! One garbage collection: untagged manifests (when asked), then mark and
//! sweep of blobs, then idle upload sessions.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ocikit_types::{AnyManifest, Digest};

use super::{GcOptions, GcReport, RemovedBlob, RemovedManifest};
use crate::state::State;
use crate::storage::StoredBlob;
use crate::{Error, RepositoryName, Storage};

/// What a run looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Manifests, blobs, and upload sessions when the options ask.
    Everything,
    /// Upload sessions only.
    Uploads,
}

/// Runs a collection of `state`'s storage on a blocking thread; upload
/// sessions in use by a request are left alone, and the hash state of
/// removed ones is dropped.
pub(crate) async fn run(
    state: &Arc<State>,
    options: GcOptions,
    scope: Scope,
) -> Result<GcReport, Error> {
    let st = state.clone();
    let report = tokio::task::spawn_blocking(move || {
        let mut report = match scope {
            Scope::Everything => collect(&*st.storage, &options)?,
            Scope::Uploads => GcReport {
                dry_run: options.dry_run,
                ..GcReport::default()
            },
        };
        if let Some(age) = options.upload_age {
            let busy = |id: &str| st.session_busy(id);
            super::uploads::purge(&*st.storage, age, options.dry_run, &busy, &mut report)?;
            if !options.dry_run {
                for u in &report.uploads {
                    st.forget_session(&u.id);
                }
            }
            // Hash states of sessions that ended elsewhere (another
            // process purged them, or a client gave up before a restart).
            for id in st.known_sessions() {
                if !st.session_busy(&id) && st.storage.upload(&id)?.is_none() {
                    st.forget_session(&id);
                }
            }
        }
        Ok::<_, Error>(report)
    })
    .await
    .map_err(|_| Error::TaskFailed)??;
    tracing::debug!(
        dry_run = report.dry_run,
        blobs = report.blobs.len(),
        manifests = report.manifests.len(),
        uploads = report.uploads.len(),
        bytes = report.bytes_freed,
        kept_in_grace = report.kept_in_grace,
        "garbage collection"
    );
    Ok(report)
}

/// What a stored manifest points at.
struct Links {
    /// Every descriptor it lists (config, layers, child manifests).
    children: Vec<Digest>,
    /// The child manifests of an index.
    manifests: Vec<Digest>,
    subject: Option<Digest>,
}

fn links(bytes: &[u8], media_type: &str) -> Option<Links> {
    let m = AnyManifest::from_slice(bytes, Some(media_type)).ok()?;
    let children: Vec<Digest> = m.children().into_iter().map(|d| d.digest.clone()).collect();
    let subject = match &m {
        AnyManifest::Manifest(m) => m.subject.as_ref(),
        AnyManifest::Index(i) => i.subject.as_ref(),
        _ => None,
    }
    .map(|s| s.digest.clone());
    let manifests = if m.is_index() {
        children.clone()
    } else {
        Vec::new()
    };
    Some(Links {
        children,
        manifests,
        subject,
    })
}

/// Collects `storage` (blocking). Upload sessions are not touched.
///
/// # Errors
/// When the storage fails; what was removed until then stays removed.
pub(crate) fn collect(storage: &dyn Storage, options: &GcOptions) -> Result<GcReport, Error> {
    if !storage.begin_collection()? {
        tracing::info!("another collector is running on this storage; this one does nothing");
        return Ok(GcReport {
            dry_run: options.dry_run,
            ..GcReport::default()
        });
    }
    let report = collect_held(storage, options);
    let ended = storage.end_collection();
    let report = report?;
    ended?;
    Ok(report)
}

/// [`collect`] once the storage let it run.
fn collect_held(storage: &dyn Storage, options: &GcOptions) -> Result<GcReport, Error> {
    let since = SystemTime::now()
        .checked_sub(options.grace)
        .unwrap_or(UNIX_EPOCH);
    // Listed before the marks: a blob stored after this is not swept.
    let blobs: HashMap<Digest, StoredBlob> = storage
        .stored_blobs()?
        .into_iter()
        .map(|b| (b.digest.clone(), b))
        .collect();
    let promised = |d: &Digest| blobs.get(d).map_or(UNIX_EPOCH, |b| b.promised);
    let mut report = GcReport {
        dry_run: options.dry_run,
        ..GcReport::default()
    };
    let mut live: HashSet<Digest> = HashSet::new();
    for repo in storage.repositories()? {
        let Some(repo) = RepositoryName::parse(&repo) else {
            continue;
        };
        let mut manifests: HashMap<Digest, Option<Links>> = HashMap::new();
        for d in storage.manifest_digests(&repo)? {
            // Gone meanwhile (a client deleted it): nothing to mark.
            let Some(m) = storage.manifest(&repo, &d)? else {
                continue;
            };
            let parsed = links(&m.bytes, &m.media_type);
            if parsed.is_none() {
                tracing::warn!(repository = %repo, digest = %d, "a stored manifest does not parse; its references are not marked");
            }
            manifests.insert(d, parsed);
        }
        if options.delete_untagged {
            let kept = reachable(storage, &repo, &manifests)?;
            let mut doomed: Vec<Digest> = manifests
                .keys()
                .filter(|d| !kept.contains(*d) && promised(d) < since)
                .cloned()
                .collect();
            doomed.sort();
            for d in doomed {
                let removed =
                    options.dry_run || storage.remove_untagged_manifest(&repo, &d, since)?;
                if !removed {
                    continue;
                }
                if !options.dry_run {
                    if let Some(Some(Links {
                        subject: Some(s), ..
                    })) = manifests.get(&d)
                    {
                        storage.remove_referrer(&repo, s, &d)?;
                    }
                }
                manifests.remove(&d);
                report.manifests.push(RemovedManifest {
                    repository: repo.clone(),
                    digest: d,
                });
            }
        }
        for (d, l) in manifests {
            if let Some(l) = l {
                live.extend(l.children);
            }
            live.insert(d);
        }
    }
    let mut garbage = Vec::new();
    for b in blobs.values().filter(|b| !live.contains(&b.digest)) {
        if b.promised < since {
            garbage.push(b.digest.clone());
        } else {
            report.kept_in_grace += 1;
        }
    }
    garbage.sort();
    let removed = if options.dry_run {
        garbage
    } else {
        let removed = storage.remove_blobs(&garbage, since)?;
        report.kept_in_grace += garbage.len() - removed.len();
        removed
    };
    for digest in removed {
        let size = blobs.get(&digest).map_or(0, |b| b.size);
        report.bytes_freed += size;
        report.blobs.push(RemovedBlob { digest, size });
    }
    Ok(report)
}

/// The manifests of `repo` to keep under `delete_untagged`: the tagged
/// ones, the children of kept indexes, and the referrers of kept
/// manifests, to a fixed point.
fn reachable(
    storage: &dyn Storage,
    repo: &RepositoryName,
    manifests: &HashMap<Digest, Option<Links>>,
) -> Result<HashSet<Digest>, Error> {
    let mut kept = HashSet::new();
    let mut todo: Vec<Digest> = Vec::new();
    for tag in storage.tags(repo)?.unwrap_or_default() {
        if let Some(d) = storage.resolve_tag(repo, &tag)? {
            todo.push(d);
        }
    }
    // A manifest that does not parse is kept: what it needs is unknown.
    todo.extend(
        manifests
            .iter()
            .filter(|(_, l)| l.is_none())
            .map(|(d, _)| d.clone()),
    );
    loop {
        while let Some(d) = todo.pop() {
            if !kept.insert(d.clone()) {
                continue;
            }
            if let Some(Some(l)) = manifests.get(&d) {
                todo.extend(l.manifests.iter().cloned());
            }
        }
        // Referrers of what is kept, which may be indexes with children.
        todo.extend(manifests.iter().filter_map(|(d, l)| {
            let subject = l.as_ref()?.subject.as_ref()?;
            (kept.contains(subject) && !kept.contains(d)).then(|| d.clone())
        }));
        if todo.is_empty() {
            return Ok(kept);
        }
    }
}
