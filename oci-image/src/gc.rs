//! Garbage collection of a layout's blobs.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use ocikit_types::{AnyManifest, Descriptor, Digest, Document, ImageManifest};

use crate::{Error, Layout};

/// Whether [`Layout::gc`] deletes or only reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GcMode {
    /// Report what would be removed; change nothing.
    DryRun,
    /// Remove unreachable blobs and stale temp files.
    Delete,
}

/// What a garbage collection found or removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcReport {
    /// Blobs reachable from `index.json` (kept).
    pub kept: usize,
    /// Unreachable blobs with their sizes (removed, or to be removed on a dry run).
    pub blobs: Vec<(Digest, u64)>,
    /// Bytes those blobs take.
    pub bytes: u64,
    /// Temp files of interrupted writes (removed, or to be removed).
    pub temp_files: Vec<PathBuf>,
}

/// Temp files younger than this may belong to a write under way.
pub const DEFAULT_TEMP_MIN_AGE: Duration = Duration::from_secs(3600);

/// Manifests larger than this are not parsed while looking for referrers.
const MAX_MANIFEST: u64 = 4 << 20;

impl Layout {
    /// Collects garbage: marks every blob reachable from `index.json`
    /// (manifests, nested indexes, configs, layers, subjects, and the
    /// referrers of reachable manifests, i.e. stored manifests whose
    /// `subject` is reachable), then removes the other blobs and temp files
    /// of interrupted writes older than an hour.
    ///
    /// Holds the index lock throughout, so no tagging races the sweep.
    ///
    /// # Errors
    /// [`Error::Io`], or an error reading a reachable document (a layout
    /// with a missing or corrupt manifest is left untouched).
    pub fn gc(&self, mode: GcMode) -> Result<GcReport, Error> {
        self.gc_with_temp_age(mode, DEFAULT_TEMP_MIN_AGE)
    }

    /// As [`Layout::gc`], removing temp files older than `temp_min_age`
    /// instead of an hour. A zero age is right only when no other process
    /// writes to the layout (after a crash, say).
    ///
    /// # Errors
    /// As [`Layout::gc`].
    pub fn gc_with_temp_age(
        &self,
        mode: GcMode,
        temp_min_age: Duration,
    ) -> Result<GcReport, Error> {
        self.update_index(|index| {
            let mut marked = BTreeSet::new();
            for d in &index.manifests {
                self.mark(d, &mut marked)?;
            }
            let all = self.all_blobs()?;
            // Referrers: unreachable manifests whose subject is reachable.
            loop {
                let mut added = false;
                for (digest, size) in &all {
                    if marked.contains(digest) || *size > MAX_MANIFEST {
                        continue;
                    }
                    let Ok(bytes) = fs::read(self.blob_path(digest)) else {
                        continue;
                    };
                    let Ok(m) = ImageManifest::from_slice(&bytes) else {
                        continue;
                    };
                    if m.subject
                        .as_ref()
                        .is_some_and(|s| marked.contains(&s.digest))
                    {
                        let d = Descriptor::new(
                            ocikit_types::MediaType::ImageManifest,
                            digest.clone(),
                            *size,
                        );
                        self.mark(&d, &mut marked)?;
                        added = true;
                    }
                }
                if !added {
                    break;
                }
            }
            let mut report = GcReport {
                kept: marked.len(),
                temp_files: self.stale_temp_files(temp_min_age),
                ..GcReport::default()
            };
            for (digest, size) in all {
                if !marked.contains(&digest) {
                    report.bytes += size;
                    report.blobs.push((digest, size));
                }
            }
            if mode == GcMode::Delete {
                for (digest, _) in &report.blobs {
                    let p = self.blob_path(digest);
                    fs::remove_file(&p).map_err(|e| Error::io("remove", p, e))?;
                }
                for p in &report.temp_files {
                    fs::remove_file(p).map_err(|e| Error::io("remove", p, e))?;
                }
            }
            tracing::debug!(
                kept = report.kept,
                removed = report.blobs.len(),
                bytes = report.bytes,
                ?mode,
                "gc"
            );
            Ok(report)
        })
    }

    fn mark(&self, d: &Descriptor, marked: &mut BTreeSet<Digest>) -> Result<(), Error> {
        if !marked.insert(d.digest.clone()) {
            return Ok(());
        }
        if !(d.media_type.is_manifest() || d.media_type.is_index()) {
            return Ok(());
        }
        let bytes = self.read_blob(d)?;
        let doc =
            AnyManifest::from_slice(&bytes, Some(d.media_type.as_str())).map_err(|source| {
                Error::Document {
                    path: d.digest.to_string(),
                    source,
                }
            })?;
        let children: Vec<&Descriptor> = match &doc {
            AnyManifest::Manifest(m) => std::iter::once(&m.config)
                .chain(&m.layers)
                .chain(&m.subject)
                .collect(),
            AnyManifest::Index(i) => i.manifests.iter().chain(&i.subject).collect(),
            AnyManifest::DockerManifest(m) => std::iter::once(&m.config).chain(&m.layers).collect(),
            AnyManifest::DockerManifestList(l) => l.manifests.iter().collect(),
            _ => Vec::new(),
        };
        for c in children {
            // A subject may legitimately be absent from the layout.
            if (c.media_type.is_manifest() || c.media_type.is_index()) && !self.has_blob(&c.digest)
            {
                marked.insert(c.digest.clone());
                continue;
            }
            self.mark(c, marked)?;
        }
        Ok(())
    }

    /// Every blob file under `blobs/<algorithm>/` whose name is a digest.
    pub(crate) fn all_blobs(&self) -> Result<Vec<(Digest, u64)>, Error> {
        let blobs = self.path().join("blobs");
        let mut out = Vec::new();
        let algs = fs::read_dir(&blobs).map_err(|e| Error::io("list", &blobs, e))?;
        for alg in algs {
            let alg = alg.map_err(|e| Error::io("list", &blobs, e))?;
            let Some(alg_name) = alg.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let Ok(entries) = fs::read_dir(alg.path()) else {
                continue;
            };
            for e in entries.filter_map(Result::ok) {
                let Some(name) = e.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                let Ok(digest) = format!("{alg_name}:{name}").parse::<Digest>() else {
                    continue;
                };
                let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                out.push((digest, size));
            }
        }
        out.sort();
        Ok(out)
    }
}
