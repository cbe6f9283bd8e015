//! Layouts in a tar, and the `docker save` / `docker load` format.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::Path;

use ocikit_types::{
    Algorithm, Descriptor, Digest, Document, ImageConfiguration, ImageManifest, MediaType, Raw,
};
use serde::{Deserialize, Serialize};

use crate::{Error, Layout};

/// Largest `manifest.json` / `index.json` / config accepted from an archive.
const MAX_DOCUMENT: u64 = 16 << 20;

fn archive_err(e: io::Error) -> Error {
    Error::Archive { source: e }
}

/// Writes the layout as a tar (`oci-layout`, `index.json`, `blobs/...`),
/// the form `skopeo copy oci-archive:` and `docker load` read. ocikit's
/// private files are left out; entries are sorted and timestamps zero, so
/// the same layout always gives the same bytes.
///
/// # Errors
/// [`Error::Io`] reading the layout, [`Error::Archive`] writing.
pub fn export_layout(layout: &Layout, writer: impl Write) -> Result<(), Error> {
    let mut tar = tar::Builder::new(writer);
    let mut add = |name: &str, path: &Path| -> Result<(), Error> {
        let mut f = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
        let len = f.metadata().map_err(|e| Error::io("stat", path, e))?.len();
        let mut h = tar::Header::new_ustar();
        h.set_size(len);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, name, &mut f).map_err(archive_err)
    };
    add("oci-layout", &layout.path().join("oci-layout"))?;
    add("index.json", &layout.path().join("index.json"))?;
    let blobs = layout.path().join("blobs");
    let mut names = Vec::new();
    for alg in std::fs::read_dir(&blobs).map_err(|e| Error::io("list", &blobs, e))? {
        let alg = alg.map_err(|e| Error::io("list", &blobs, e))?;
        for blob in std::fs::read_dir(alg.path()).map_err(|e| Error::io("list", alg.path(), e))? {
            let blob = blob.map_err(|e| Error::io("list", alg.path(), e))?;
            let name = format!(
                "{}:{}",
                alg.file_name().to_string_lossy(),
                blob.file_name().to_string_lossy()
            );
            if let Ok(d) = name.parse::<Digest>() {
                names.push(d);
            }
        }
    }
    names.sort();
    for d in names {
        add(
            &format!("blobs/{}/{}", d.algorithm(), d.encoded()),
            &layout.blob_path(&d),
        )?;
    }
    tar.into_inner()
        .map_err(archive_err)?
        .flush()
        .map_err(archive_err)
}

/// Reads a layout tar (as [`export_layout`] or `skopeo copy oci-archive:`
/// write) into a new or existing layout at `dest`, merging `index.json`
/// entries. Every blob is verified against the digest its name claims
/// before it is stored; entries other than the layout's files are refused.
///
/// # Errors
/// [`Error::BadEntry`] for unexpected entries, [`Error::Integrity`] for a
/// blob that is not what its name says, [`Error::Document`], [`Error::Io`].
pub fn import_layout(reader: impl Read, dest: impl AsRef<Path>) -> Result<Layout, Error> {
    let layout = Layout::create(dest)?;
    let mut index = None;
    let mut ar = tar::Archive::new(reader);
    for entry in ar.entries().map_err(archive_err)? {
        let mut entry = entry.map_err(archive_err)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = name.trim_start_matches("./");
        let kind = entry.header().entry_type();
        if kind.is_dir() || name.is_empty() {
            continue;
        }
        if !kind.is_file() {
            return Err(Error::BadEntry {
                entry: name.to_owned(),
                expected: "only regular files in a layout archive",
            });
        }
        match name {
            "oci-layout" => {
                let bytes = read_small(&mut entry, name)?;
                ocikit_types::OciLayout::from_slice_validated(&bytes).map_err(|source| {
                    Error::Document {
                        path: name.to_owned(),
                        source,
                    }
                })?;
            }
            "index.json" => {
                let bytes = read_small(&mut entry, name)?;
                let idx =
                    ocikit_types::ImageIndex::from_slice_validated(&bytes).map_err(|source| {
                        Error::Document {
                            path: name.to_owned(),
                            source,
                        }
                    })?;
                index = Some(idx);
            }
            _ => {
                let digest = name
                    .strip_prefix("blobs/")
                    .and_then(|rest| rest.split_once('/'))
                    .and_then(|(alg, enc)| format!("{alg}:{enc}").parse::<Digest>().ok())
                    .ok_or_else(|| Error::BadEntry {
                        entry: name.to_owned(),
                        expected: "oci-layout, index.json or blobs/<algorithm>/<encoded>",
                    })?;
                let size = entry.header().size().map_err(archive_err)?;
                if layout.has_blob(&digest) {
                    continue;
                }
                layout
                    .blob_writer_for(&digest, size)?
                    .commit_from(&mut entry)?;
            }
        }
    }
    let index = index.ok_or_else(|| Error::NotALayout {
        path: layout.path().to_owned(),
        expected: "an index.json entry in the archive",
    })?;
    layout.update_index(|existing| {
        for d in index.manifests {
            if !layout.has_blob(&d.digest) {
                return Err(Error::BlobNotFound { digest: d.digest });
            }
            if let Some(tag) = d.annotation(ocikit_types::annotation::REF_NAME) {
                let tag = tag.to_owned();
                existing
                    .manifests
                    .retain(|e| e.annotation(ocikit_types::annotation::REF_NAME) != Some(&tag));
            }
            if !existing.manifests.contains(&d) {
                existing.manifests.push(d);
            }
        }
        Ok(())
    })?;
    Ok(layout)
}

fn read_small(entry: &mut impl Read, name: &str) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    entry
        .take(MAX_DOCUMENT + 1)
        .read_to_end(&mut bytes)
        .map_err(archive_err)?;
    if bytes.len() as u64 > MAX_DOCUMENT {
        return Err(Error::BadEntry {
            entry: name.to_owned(),
            expected: "a document of at most 16 MiB",
        });
    }
    Ok(bytes)
}

/// One image of a `docker save` archive's `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerArchiveEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// Writes the image whose manifest `manifest` describes as a `docker save`
/// archive that `docker load` and `podman load` read: the config as
/// `<hex>.json`, each layer uncompressed as `<diff id hex>/layer.tar`, and
/// `manifest.json` naming `repo_tags` (such as `busybox:latest`).
///
/// Layers are decompressed on the way and their diff IDs checked.
///
/// # Errors
/// [`Error::LayerDigestMismatch`] when a layer does not have the diff ID its
/// config says, and the errors of reading the image.
pub fn export_docker(
    layout: &Layout,
    manifest: &Descriptor,
    repo_tags: &[String],
    writer: impl Write,
) -> Result<(), Error> {
    let m: Raw<ImageManifest> = layout.read_document(manifest)?;
    let config_bytes = layout.read_blob(&m.value().config)?;
    let config =
        ImageConfiguration::from_slice(&config_bytes).map_err(|source| Error::Document {
            path: m.value().config.digest.to_string(),
            source,
        })?;
    if config.rootfs.diff_ids.len() != m.value().layers.len() {
        return Err(Error::Document {
            path: m.value().config.digest.to_string(),
            source: ocikit_types::Error::SizeMismatch {
                expected: m.value().layers.len() as u64,
                found: config.rootfs.diff_ids.len() as u64,
            },
        });
    }
    let mut tar = tar::Builder::new(writer);
    let header = |size: u64| {
        let mut h = tar::Header::new_ustar();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        h
    };
    let config_name = format!("{}.json", m.value().config.digest.encoded());
    tar.append_data(
        &mut header(config_bytes.len() as u64),
        &config_name,
        &config_bytes[..],
    )
    .map_err(archive_err)?;
    let mut layer_names = Vec::new();
    for (layer, diff_id) in m.value().layers.iter().zip(&config.rootfs.diff_ids) {
        let name = format!("{}/layer.tar", diff_id.encoded());
        // Decompress into a blob first: the tar header needs the size.
        let existed = layout.has_blob(diff_id);
        let algorithm =
            diff_id
                .registered_algorithm()
                .ok_or_else(|| Error::UnsupportedAlgorithm {
                    digest: diff_id.clone(),
                })?;
        let mut w = layout.blob_writer(algorithm)?;
        let reader = layout.open_blob(layer, crate::Verification::Full)?;
        let mut plain = match layer.media_type.layer_compression() {
            Some(c) => crate::Decompressor::new(reader, c)?,
            None => crate::Decompressor::detect(reader)?,
        };
        io::copy(&mut plain, &mut w).map_err(archive_err)?;
        let (found, size) = w.commit()?;
        if &found != diff_id {
            return Err(Error::LayerDigestMismatch {
                layer: layer.digest.clone(),
                kind: crate::LayerDigestKind::DiffId,
                expected: diff_id.clone(),
                found,
            });
        }
        let stored = Descriptor::new(MediaType::ImageLayer, found.clone(), size);
        let mut r = layout.open_blob(&stored, crate::Verification::Full)?;
        tar.append_data(&mut header(size), &name, &mut r)
            .map_err(archive_err)?;
        // The uncompressed copy is only scaffolding, unless it was there
        // before (another image may use it).
        if !existed && found != layer.digest {
            let _ = std::fs::remove_file(layout.blob_path(&found));
        }
        layer_names.push(name);
    }
    let entries = vec![DockerArchiveEntry {
        config: config_name,
        repo_tags: Some(repo_tags.to_vec()),
        layers: layer_names,
    }];
    let manifest_json = serde_json::to_vec(&entries).map_err(|e| archive_err(e.into()))?;
    tar.append_data(
        &mut header(manifest_json.len() as u64),
        "manifest.json",
        &manifest_json[..],
    )
    .map_err(archive_err)?;
    tar.into_inner()
        .map_err(archive_err)?
        .flush()
        .map_err(archive_err)
}

/// Reads a `docker save` archive into `layout`: each image becomes an OCI
/// manifest over the archive's config and layers (stored as they are,
/// verified against the config's diff IDs when uncompressed), tagged with
/// each of its `RepoTags`. Returns the tags and manifest descriptors.
///
/// Archive member names are only keys: content goes to the blob store, so a
/// hostile name cannot write anywhere.
///
/// # Errors
/// [`Error::BadEntry`] when `manifest.json` or a file it names is missing
/// or malformed, [`Error::LayerDigestMismatch`], [`Error::Io`].
pub fn import_docker(
    reader: impl Read,
    layout: &Layout,
) -> Result<Vec<(String, Descriptor)>, Error> {
    let mut files: BTreeMap<String, (Digest, u64)> = BTreeMap::new();
    let mut ar = tar::Archive::new(reader);
    for entry in ar.entries().map_err(archive_err)? {
        let mut entry = entry.map_err(archive_err)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes())
            .trim_start_matches("./")
            .to_owned();
        let stored = layout.write_blob_from(&mut entry, Algorithm::Sha256, None)?;
        files.insert(name, stored);
    }
    let missing = |name: &str| Error::BadEntry {
        entry: name.to_owned(),
        expected: "a file named by manifest.json",
    };
    let (mdigest, msize) = files
        .get("manifest.json")
        .cloned()
        .ok_or_else(|| missing("manifest.json"))?;
    let mbytes = layout.read_blob(&Descriptor::new(
        MediaType::Other("application/json".into()),
        mdigest.clone(),
        msize,
    ))?;
    let entries: Vec<DockerArchiveEntry> =
        serde_json::from_slice(&mbytes).map_err(|_| Error::BadEntry {
            entry: "manifest.json".to_owned(),
            expected: "a JSON list of {Config, RepoTags, Layers}",
        })?;
    let mut out = Vec::new();
    for e in entries {
        let (cdigest, csize) = files
            .get(&e.config)
            .cloned()
            .ok_or_else(|| missing(&e.config))?;
        let config_desc = Descriptor::new(MediaType::ImageConfig, cdigest, csize);
        let config: Raw<ImageConfiguration> = layout.read_document(&config_desc)?;
        let mut layers = Vec::new();
        for (i, name) in e.layers.iter().enumerate() {
            let (digest, size) = files.get(name).cloned().ok_or_else(|| missing(name))?;
            let mut head = [0u8; 4];
            let n = layout
                .open_blob(
                    &Descriptor::new(MediaType::ImageLayer, digest.clone(), size),
                    crate::Verification::SizeOnlyUnverified,
                )?
                .read(&mut head)
                .map_err(archive_err)?;
            let media_type = match &head[..n] {
                [0x1f, 0x8b, ..] => MediaType::ImageLayerGzip,
                [0x28, 0xb5, 0x2f, 0xfd] => MediaType::ImageLayerZstd,
                _ => MediaType::ImageLayer,
            };
            if media_type == MediaType::ImageLayer {
                if let Some(want) = config.value().rootfs.diff_ids.get(i) {
                    if want != &digest {
                        return Err(Error::LayerDigestMismatch {
                            layer: digest.clone(),
                            kind: crate::LayerDigestKind::DiffId,
                            expected: want.clone(),
                            found: digest,
                        });
                    }
                }
            }
            layers.push(Descriptor::new(media_type, digest, size));
        }
        let manifest = Raw::from_value(ImageManifest::new(config_desc, layers));
        let desc = layout.write_document(&manifest, MediaType::ImageManifest)?;
        for tag in e.repo_tags.unwrap_or_default() {
            layout.tag(&tag, desc.clone())?;
            out.push((tag, desc.clone()));
        }
        if out.last().map(|(_, d)| &d.digest) != Some(&desc.digest) {
            layout.add_manifest(desc.clone())?;
            out.push((String::new(), desc));
        }
    }
    // manifest.json, `repositories` and legacy per-layer `json` files stay
    // as unreferenced blobs: `Layout::gc` removes them. Deleting them here
    // could remove a blob another image in the layout shares.
    Ok(out)
}
