//! The walk: every repository's manifests (listed, tagged, and named by
//! indexes), what each references, the referrers index, then orphans.

use std::collections::HashSet;

use ocikit_types::{AnyManifest, Descriptor, Digest};

use super::rehash::{hash_bytes, rehash, Rehash};
use super::{chain, Finding, FsckMode, FsckReport};
use crate::routes::{is_foreign, referrer_descriptor, subject_of};
use crate::{Error, RepositoryName, Storage};

/// Checks `storage` (blocking) and, with [`FsckMode::Repair`], repairs
/// what can be rebuilt (see [`FsckMode`]).
///
/// The manifests checked in each repository are those
/// [`Storage::manifest_digests`] lists, those a tag points at and those
/// an index names; each one's bytes are hashed, and so is every blob it
/// references, streamed and once per digest. Orphans are looked for only
/// when the storage lists its blobs ([`Storage::stored_blobs`];
/// [`FsckReport::orphans_listed`] says whether it did), and orphans are
/// not hashed (a blob is read through a repository it is linked in).
///
/// Run on a store nobody pushes to for an exact answer: beside a running
/// server, a push in progress shows as orphans and, between its manifest
/// and its referrers entry, as a missing referrer. Repairs stay safe
/// then: a stale referrers entry is removed only if its manifest is still
/// not there when the entry is removed, and links and entries are only
/// added for what is stored.
///
/// # Errors
/// When the storage cannot list its repositories, a repository's
/// manifests or tags, or its referrers, or a repair fails. What a
/// single manifest or blob's read fails with is a [`Finding`].
pub fn fsck(storage: &dyn Storage, mode: FsckMode) -> Result<FsckReport, Error> {
    let mut run = Run {
        storage,
        mode,
        report: FsckReport::default(),
        verified: HashSet::new(),
        live: HashSet::new(),
    };
    for name in storage.repositories()? {
        let Some(repo) = RepositoryName::parse(&name) else {
            tracing::warn!(repository = %name, "a stored repository name is not valid; skipped");
            continue;
        };
        run.repository(&repo)?;
    }
    run.orphans()?;
    tracing::debug!(
        findings = run.report.findings.len(),
        repaired = run.report.repaired.len(),
        manifests = run.report.manifests,
        "fsck"
    );
    Ok(run.report)
}

struct Run<'a> {
    storage: &'a dyn Storage,
    mode: FsckMode,
    report: FsckReport,
    /// Digests whose bytes were hashed.
    verified: HashSet<Digest>,
    /// Digests some manifest references, and the manifests.
    live: HashSet<Digest>,
}

/// A manifest with a subject, as the referrers index should list it.
struct Referrer {
    digest: Digest,
    subject: Digest,
    descriptor: Option<Descriptor>,
}

impl Run<'_> {
    fn note(&mut self, f: Finding) {
        self.report.findings.push(f);
    }

    /// Notes `f`, or repairs it with `fix` in repair mode (`fix` returns
    /// false when the repair could not be made).
    fn repairable(
        &mut self,
        f: Finding,
        fix: impl FnOnce(&dyn Storage) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        if self.mode == FsckMode::Repair && fix(self.storage)? {
            tracing::debug!(finding = ?f, "repaired");
            self.report.repaired.push(f);
        } else {
            self.report.findings.push(f);
        }
        Ok(())
    }

    fn repository(&mut self, repo: &RepositoryName) -> Result<(), Error> {
        let s = self.storage;
        let name = repo.as_str().to_owned();
        self.report.repositories += 1;
        let mut todo = s.manifest_digests(repo)?;
        for tag in s.tags(repo)?.unwrap_or_default() {
            // None: deleted since it was listed.
            let Some(d) = s.resolve_tag(repo, &tag)? else {
                continue;
            };
            if let Ok(None) = s.manifest(repo, &d) {
                self.note(Finding::DanglingTag {
                    repository: name.clone(),
                    tag,
                    digest: d,
                });
            } else {
                todo.push(d);
            }
        }
        let mut seen = HashSet::new();
        let mut referrers = Vec::new();
        while let Some(d) = todo.pop() {
            if !seen.insert(d.clone()) {
                continue;
            }
            let m = match s.manifest(repo, &d) {
                Ok(Some(m)) => m,
                Ok(None) => continue,
                Err(e) => {
                    self.note(Finding::UnreadableManifest {
                        repository: name.clone(),
                        digest: d,
                        reason: chain(&e),
                    });
                    continue;
                }
            };
            self.report.manifests += 1;
            self.live.insert(d.clone());
            if self.verified.insert(d.clone()) {
                self.report.blobs_verified += 1;
                self.report.bytes_verified += m.bytes.len() as u64;
                self.check_hash(&d, hash_bytes(&m.bytes, &d));
            }
            let Ok(parsed) = AnyManifest::from_slice(&m.bytes, Some(&m.media_type)) else {
                self.note(Finding::UnparsableManifest {
                    repository: name.clone(),
                    digest: d,
                    media_type: m.media_type.clone(),
                });
                continue;
            };
            for c in parsed.children() {
                self.live.insert(c.digest.clone());
                if is_foreign(c) {
                    continue;
                }
                if !parsed.is_index() {
                    self.blob(repo, &d, &c.digest)?;
                    continue;
                }
                match s.manifest(repo, &c.digest) {
                    Ok(None) => self.note(Finding::MissingManifest {
                        repository: name.clone(),
                        index: d.clone(),
                        manifest: c.digest.clone(),
                    }),
                    _ => todo.push(c.digest.clone()),
                }
            }
            if let Some(subject) = subject_of(&parsed) {
                let size = m.bytes.len() as u64;
                referrers.push(Referrer {
                    digest: d.clone(),
                    subject: subject.digest.clone(),
                    descriptor: referrer_descriptor(&parsed, &m.media_type, &d, size),
                });
            }
        }
        self.referrers(repo, &seen, &referrers)
    }

    /// Checks that the blob `digest` a manifest names is linked in `repo`
    /// and hashes to its digest.
    fn blob(
        &mut self,
        repo: &RepositoryName,
        manifest: &Digest,
        digest: &Digest,
    ) -> Result<(), Error> {
        let s = self.storage;
        match s.open_blob(repo, digest) {
            Ok(Some((content, size))) => {
                if self.verified.insert(digest.clone()) {
                    self.report.blobs_verified += 1;
                    let r = rehash(content, size, digest);
                    if let Rehash::Hashed(_, n) = &r {
                        self.report.bytes_verified += n;
                    }
                    self.check_hash(digest, r);
                }
            }
            Ok(None) if s.has_any_blob(digest)? => {
                let f = Finding::UnlinkedBlob {
                    repository: repo.as_str().to_owned(),
                    manifest: manifest.clone(),
                    blob: digest.clone(),
                };
                self.repairable(f, |s| s.link_blob(repo, digest))?;
            }
            Ok(None) => self.note(Finding::MissingBlob {
                repository: repo.as_str().to_owned(),
                manifest: manifest.clone(),
                blob: digest.clone(),
            }),
            Err(e) => {
                if self.verified.insert(digest.clone()) {
                    self.check_hash(digest, Rehash::Failed(chain(&e)));
                }
            }
        }
        Ok(())
    }

    fn check_hash(&mut self, digest: &Digest, r: Rehash) {
        match r {
            Rehash::Hashed(found, size) if &found != digest => self.note(Finding::CorruptBlob {
                digest: digest.clone(),
                found,
                size,
            }),
            Rehash::Failed(reason) => self.note(Finding::UnreadableBlob {
                digest: digest.clone(),
                reason,
            }),
            Rehash::Hashed(..) | Rehash::Unsupported => {}
        }
    }

    /// Compares the referrers index with the manifests' subjects: under
    /// each manifest of `repo` (`manifests`) and each subject named.
    fn referrers(
        &mut self,
        repo: &RepositoryName,
        manifests: &HashSet<Digest>,
        referrers: &[Referrer],
    ) -> Result<(), Error> {
        let s = self.storage;
        let name = repo.as_str();
        let expected: HashSet<(&Digest, &Digest)> =
            referrers.iter().map(|r| (&r.subject, &r.digest)).collect();
        for r in referrers {
            if !manifests.contains(&r.subject) && s.manifest(repo, &r.subject)?.is_none() {
                self.note(Finding::AbsentSubject {
                    repository: name.to_owned(),
                    manifest: r.digest.clone(),
                    subject: r.subject.clone(),
                });
            }
            let listed = s.referrers(repo, &r.subject)?;
            if listed.iter().any(|l| l.digest == r.digest) {
                continue;
            }
            let f = Finding::MissingReferrer {
                repository: name.to_owned(),
                subject: r.subject.clone(),
                referrer: r.digest.clone(),
            };
            match &r.descriptor {
                Some(desc) => self.repairable(f, |s| {
                    s.add_referrer(repo, &r.subject, desc)?;
                    Ok(true)
                })?,
                None => self.note(f),
            }
        }
        let mut subjects: Vec<&Digest> = manifests.iter().collect();
        subjects.extend(referrers.iter().map(|r| &r.subject));
        subjects.sort();
        subjects.dedup();
        for subject in subjects {
            for entry in s.referrers(repo, subject)? {
                if expected.contains(&(subject, &entry.digest)) {
                    continue;
                }
                let f = Finding::StaleReferrer {
                    repository: name.to_owned(),
                    subject: subject.clone(),
                    referrer: entry.digest.clone(),
                };
                // Pushed since the walk: a manifest is stored before its
                // entry, so one there now with this subject is no error.
                if still_refers(s, repo, &entry.digest, subject) {
                    continue;
                }
                self.repairable(f, |s| {
                    s.remove_referrer(repo, subject, &entry.digest)?;
                    Ok(true)
                })?;
            }
        }
        Ok(())
    }

    /// Lists the stored blobs no manifest references.
    fn orphans(&mut self) -> Result<(), Error> {
        let mut blobs = self.storage.stored_blobs()?;
        self.report.orphans_listed = !blobs.is_empty() || self.live.is_empty();
        blobs.sort_by(|a, b| a.digest.cmp(&b.digest));
        for b in blobs {
            if !self.live.contains(&b.digest) {
                self.note(Finding::OrphanBlob {
                    digest: b.digest,
                    size: b.size,
                });
            }
        }
        Ok(())
    }
}

/// True when the manifest `digest` of `repo` is stored now with the
/// subject `subject`.
fn still_refers(s: &dyn Storage, repo: &RepositoryName, digest: &Digest, subject: &Digest) -> bool {
    let Ok(Some(m)) = s.manifest(repo, digest) else {
        return false;
    };
    AnyManifest::from_slice(&m.bytes, Some(&m.media_type))
        .ok()
        .and_then(|p| subject_of(&p).map(|d| &d.digest == subject))
        .unwrap_or(false)
}
