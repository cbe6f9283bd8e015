//! Runtime bundles from images (`conversion.md`), and platform selection.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use ocikit_types::runtime::{Spec, User};
use ocikit_types::{
    annotation, AnyManifest, Descriptor, Document, ImageConfiguration, ImageManifest, Platform, Raw,
};
use rustix::fs::OFlags;

use crate::{unpack, Error, Layout, UnpackOptions, UnpackReport, Verification};

/// Largest `/etc/passwd` or `/etc/group` read from an image.
const MAX_ID_FILE: u64 = 4 << 20;

/// What [`create_bundle`] did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BundleReport {
    /// The `rootfs` directory.
    pub rootfs: PathBuf,
    /// The report of each layer, base first.
    pub layers: Vec<UnpackReport>,
    /// The runtime configuration written to `config.json`.
    pub spec: Spec,
}

impl Layout {
    /// Follows `desc` through (possibly nested) indexes to the image
    /// manifest that best matches `platform` (see [`Platform::best_match`]).
    /// A manifest descriptor is returned as it is.
    ///
    /// # Errors
    /// [`Error::PlatformNotFound`] listing what the index offers, and read
    /// errors.
    pub fn resolve_platform(
        &self,
        desc: &Descriptor,
        platform: &Platform,
    ) -> Result<Descriptor, Error> {
        let mut current = desc.clone();
        for _ in 0..16 {
            if current.media_type.is_manifest() {
                return Ok(current);
            }
            let bytes = self.read_blob(&current)?;
            let doc = AnyManifest::from_slice(&bytes, Some(current.media_type.as_str())).map_err(
                |source| Error::Document {
                    path: current.digest.to_string(),
                    source,
                },
            )?;
            let entries = match doc {
                AnyManifest::Index(i) => i.manifests,
                AnyManifest::DockerManifestList(l) => l.manifests,
                _ => return Ok(current),
            };
            current = platform
                .select(&entries)
                .map_err(|source| Error::PlatformNotFound {
                    index: current.digest.clone(),
                    source,
                })?
                .clone();
        }
        Err(Error::PlatformNotFound {
            index: desc.digest.clone(),
            source: ocikit_types::Error::InvalidValue {
                what: "image index",
                input: desc.digest.to_string(),
                expected: "indexes nested at most 16 deep",
            },
        })
    }
}

/// Settings for [`create_bundle_with`]: which platform of an index, how
/// layers are unpacked, and the container process when it should differ
/// from the image's.
///
/// ```
/// use ocikit_image::BundleOptions;
/// use ocikit_types::Platform;
/// let mut options = BundleOptions::new();
/// options
///     .platform(Platform::new("linux", "arm64"))
///     .args(["/bin/sh", "-c", "echo hi"])
///     .env(["DEBUG=1"]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct BundleOptions {
    unpack: UnpackOptions,
    platform: Option<Platform>,
    args: Option<Vec<String>>,
    env: Vec<String>,
    cwd: Option<String>,
    user: Option<String>,
}

/// Takes the settings out of a chain of [`UnpackOptions`] setters, so
/// that they can be written inline in
/// [`BundleOptions::unpack_options`]. The borrowed value is left with the
/// defaults.
impl From<&mut UnpackOptions> for UnpackOptions {
    fn from(options: &mut UnpackOptions) -> Self {
        std::mem::take(options)
    }
}

impl BundleOptions {
    /// Default settings: layers unpacked with [`UnpackOptions::new`], the
    /// host's platform, and the process the image configures.
    pub fn new() -> Self {
        BundleOptions::default()
    }

    /// How every layer is unpacked (limits, rootless mode); its expected
    /// digests and compression are set per layer from the manifest.
    /// Default: [`UnpackOptions::new`].
    /// Takes an [`UnpackOptions`] or a chain of its setters:
    /// `BundleOptions::new().unpack_options(UnpackOptions::new().max_size(1 << 30))`.
    pub fn unpack_options(&mut self, options: impl Into<UnpackOptions>) -> &mut Self {
        self.unpack = options.into();
        self
    }

    /// The platform picked when the descriptor names an image index
    /// (see [`Layout::resolve_platform`]). Default: [`Platform::host`].
    pub fn platform(&mut self, platform: Platform) -> &mut Self {
        self.platform = Some(platform);
        self
    }

    /// The whole command line of the process, in place of the image's
    /// `Entrypoint` and `Cmd`. Default: those of the image.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args = Some(args.into_iter().map(Into::into).collect());
        self
    }

    /// `NAME=value` entries added to the image's `Env`; an entry replaces
    /// the image's entry of the same name. Default: none (the image's
    /// `Env` as it is).
    pub fn env<I, S>(&mut self, env: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.env.extend(env.into_iter().map(Into::into));
        self
    }

    /// The working directory of the process. Default: the image's
    /// `WorkingDir`, or `/`.
    pub fn cwd(&mut self, cwd: impl Into<String>) -> &mut Self {
        self.cwd = Some(cwd.into());
        self
    }

    /// The user of the process, written as the image's `User` is (`name`,
    /// `uid`, `name:group`, `uid:gid`) and looked up in the image's own
    /// `/etc/passwd` and `/etc/group`. Default: the image's `User`, or
    /// root.
    pub fn user(&mut self, user: impl Into<String>) -> &mut Self {
        self.user = Some(user.into());
        self
    }

    /// The image configuration with the process settings applied.
    fn apply(&self, config: &ImageConfiguration) -> ImageConfiguration {
        let mut config = config.clone();
        let c = config.config.get_or_insert_with(Default::default);
        if let Some(args) = &self.args {
            c.entrypoint = Some(args.clone());
            c.cmd = None;
        }
        if !self.env.is_empty() {
            let env = c.env.get_or_insert_with(Vec::new);
            for entry in &self.env {
                let name = entry.split_once('=').map_or(entry.as_str(), |(n, _)| n);
                env.retain(|e| e.split_once('=').map_or(e.as_str(), |(n, _)| n) != name);
                env.push(entry.clone());
            }
        }
        if let Some(cwd) = &self.cwd {
            c.working_dir = Some(cwd.clone());
        }
        if let Some(user) = &self.user {
            c.user = Some(user.clone());
        }
        config
    }
}

/// Creates an OCI runtime bundle in `dir` from the image `manifest`
/// describes, as [`create_bundle_with`] does with `options` for unpacking
/// and the defaults of [`BundleOptions`] otherwise.
///
/// # Errors
/// As [`create_bundle_with`].
///
/// # Security
/// Unpacking is confined to `rootfs` as [`unpack`] documents.
pub fn create_bundle(
    layout: &Layout,
    manifest: &Descriptor,
    dir: impl AsRef<Path>,
    options: &UnpackOptions,
) -> Result<BundleReport, Error> {
    let mut o = BundleOptions::new();
    o.unpack_options(options.clone());
    create_bundle_inner(layout, manifest, dir.as_ref(), &o)
}

/// Creates an OCI runtime bundle in `dir` from the image `desc` describes:
/// an image manifest, or an index (nested or not) in which the manifest of
/// [`BundleOptions::platform`] is picked. Every layer is unpacked in order
/// into `dir/rootfs` with both of its digests verified in the same pass,
/// and a `config.json` is converted from the image configuration as the
/// image-spec's `conversion.md` says:
///
/// - `process.args` is `Entrypoint` followed by `Cmd`; `process.env` is
///   `Env`; `process.cwd` is `WorkingDir` (default `/`);
/// - `process.user` comes from `User`; names are looked up in the
///   image's own `/etc/passwd` and `/etc/group` (read inside the rootfs,
///   never through a symlink out of it), and supplementary groups too;
/// - the image's platform, author, creation time, stop signal and exposed
///   ports become `org.opencontainers.image.*` annotations, and `Labels`
///   become annotations where they do not clash with those.
///
/// The process settings of `options` take the place of the image's. The
/// rest of the configuration is [`Spec::default_linux`] with a writable
/// root and no terminal. `Volumes` are not mounted: the caller decides
/// where their data lives.
///
/// Creation is all or nothing: the bundle is made in a hidden directory
/// beside `dir` and renamed to `dir` once complete. `dir` must not exist
/// or be an empty directory; on failure it is left as it was and the
/// hidden directory is removed.
///
/// # Errors
/// [`Error::Layer`] naming the layer that failed, with the error of
/// [`unpack`] (a [`Error::LayerDigestMismatch`], say) as its source;
/// [`Error::PlatformNotFound`] when an index has no manifest for the
/// platform; [`Error::Io`] when `dir` is not empty or cannot be made;
/// [`Error::BadEntry`] when the user is not in the image; read errors.
///
/// # Security
/// Unpacking is confined to `rootfs` as [`unpack`] documents.
///
/// # Example
/// ```
/// use ocikit_image::{create_bundle_with, BundleOptions, ImageBuilder, Layout, PackOptions};
/// use ocikit_types::Platform;
///
/// let tmp = tempfile::tempdir()?;
/// std::fs::create_dir(tmp.path().join("src"))?;
/// let layout = Layout::create(tmp.path().join("layout"))?;
/// let mut image = ImageBuilder::new(&layout, Platform::host());
/// image.add_layer_from_dir(tmp.path().join("src"), &PackOptions::new(), None)?;
/// image.config_mut().cmd = Some(vec!["/bin/server".into()]);
/// let manifest = image.write()?;
///
/// // The same image, run for a one-off task.
/// let report = create_bundle_with(
///     &layout,
///     &manifest,
///     tmp.path().join("bundle"),
///     BundleOptions::new().args(["/bin/migrate", "--all"]).env(["LOG=debug"]),
/// )?;
/// assert_eq!(report.spec.process.unwrap().args, ["/bin/migrate", "--all"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn create_bundle_with(
    layout: &Layout,
    desc: &Descriptor,
    dir: impl AsRef<Path>,
    options: &BundleOptions,
) -> Result<BundleReport, Error> {
    create_bundle_inner(layout, desc, dir.as_ref(), options)
}

fn create_bundle_inner(
    layout: &Layout,
    desc: &Descriptor,
    dir: &Path,
    options: &BundleOptions,
) -> Result<BundleReport, Error> {
    let span = tracing::debug_span!("create_bundle", image = %desc.digest, dir = %dir.display());
    let _enter = span.enter();
    let platform = options.platform.clone().unwrap_or_else(Platform::host);
    let manifest = layout.resolve_platform(desc, &platform)?;
    let m: Raw<ImageManifest> = layout.read_document(&manifest)?;
    let config: Raw<ImageConfiguration> = layout.read_document(&m.value().config)?;
    let config = options.apply(config.value());

    let existing = match std::fs::symlink_metadata(dir) {
        Ok(md) => {
            let empty = md.is_dir()
                && std::fs::read_dir(dir)
                    .map_err(|e| Error::io("read directory", dir, e))?
                    .next()
                    .is_none();
            if !empty {
                return Err(Error::io(
                    "create bundle",
                    dir,
                    std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "expected a new or empty directory",
                    ),
                ));
            }
            Some(md.permissions())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("stat", dir, e)),
    };
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| Error::io("create directory", &parent, e))?;
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    let staging = Staging(
        tempfile::Builder::new()
            .prefix(&format!(".{name}.ocikit-"))
            .tempdir_in(&parent)
            .map_err(|e| Error::io("create directory", &parent, e))?
            .keep(),
    );
    let perms = existing.unwrap_or_else(|| std::fs::Permissions::from_mode(0o755));
    std::fs::set_permissions(&staging.0, perms).map_err(|e| Error::io("chmod", &staging.0, e))?;

    let rootfs = staging.0.join("rootfs");
    std::fs::create_dir(&rootfs).map_err(|e| Error::io("create directory", &rootfs, e))?;
    let mut layers = Vec::new();
    for (i, layer) in m.value().layers.iter().enumerate() {
        if layer.media_type == ocikit_types::MediaType::EmptyJson {
            continue;
        }
        let mut opts = options.unpack.clone();
        opts.expected_blob_digest(layer.digest.clone());
        if let Some(d) = config.rootfs.diff_ids.get(i) {
            opts.expected_diff_id(d.clone());
        }
        if let Some(c) = layer.media_type.layer_compression() {
            opts.compression(c);
        }
        // unpack() verifies the digest itself while it reads.
        let report = layout
            .open_blob(layer, Verification::SizeOnlyUnverified)
            .and_then(|reader| unpack(reader, &rootfs, &opts))
            .map_err(|e| Error::Layer {
                digest: layer.digest.clone(),
                layout: layout.path().to_owned(),
                source: Box::new(e),
            })?;
        layers.push(report);
    }
    let spec = runtime_config(&config, &rootfs)?;
    crate::write_atomic(
        staging.0.join("config.json"),
        spec.to_pretty_string().as_bytes(),
    )?;
    // rename(2) replaces an empty directory.
    std::fs::rename(&staging.0, dir).map_err(|e| Error::io("rename", dir, e))?;
    let mut staging = staging;
    staging.0 = PathBuf::new();
    Ok(BundleReport {
        rootfs: dir.join("rootfs"),
        layers,
        spec,
    })
}

/// A bundle being made; removed unless it was renamed into place.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        if self.0.as_os_str().is_empty() || std::fs::remove_dir_all(&self.0).is_ok() {
            return;
        }
        // Read-only directories of a rootless unpack: make them writable.
        fn open_up(dir: &Path) {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        open_up(&e.path());
                    }
                }
            }
        }
        open_up(&self.0);
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(dir = %self.0.display(), error = %e, "cannot remove a failed bundle");
        }
    }
}

/// The runtime configuration for an image configuration (`conversion.md`).
/// `rootfs` is read for user and group names.
///
/// # Errors
/// [`Error::BadEntry`] when `User` names a user or group the image does
/// not have.
pub fn runtime_config(config: &ImageConfiguration, rootfs: &Path) -> Result<Spec, Error> {
    let mut spec = Spec::default_linux();
    spec.root.get_or_insert_with(Default::default).readonly = false;
    let c = config.config.clone().unwrap_or_default();
    let process = spec.process.get_or_insert_with(Default::default);
    process.terminal = false;
    let mut args = c.entrypoint.clone().unwrap_or_default();
    args.extend(c.cmd.clone().unwrap_or_default());
    if !args.is_empty() {
        process.args = args;
    }
    if let Some(env) = &c.env {
        process.env = env.clone();
    }
    process.cwd = c
        .working_dir
        .clone()
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".to_owned());
    if let Some(user) = c.user.as_deref().filter(|u| !u.is_empty()) {
        process.user = Some(resolve_user(user, rootfs)?);
    }
    let mut ann = BTreeMap::new();
    // Labels first, so the image's own keys win a clash.
    if let Some(labels) = &c.labels {
        ann.extend(labels.clone());
    }
    ann.insert("org.opencontainers.image.os".to_owned(), config.os.clone());
    ann.insert(
        "org.opencontainers.image.architecture".to_owned(),
        config.architecture.clone(),
    );
    if let Some(v) = &config.variant {
        ann.insert("org.opencontainers.image.variant".to_owned(), v.clone());
    }
    if let Some(v) = &config.os_version {
        ann.insert("org.opencontainers.image.os.version".to_owned(), v.clone());
    }
    if !config.os_features.is_empty() {
        ann.insert(
            "org.opencontainers.image.os.features".to_owned(),
            config.os_features.join(","),
        );
    }
    if let Some(a) = &config.author {
        ann.insert(annotation::AUTHORS.to_owned(), a.clone());
    }
    if let Some(t) = &config.created {
        ann.insert(annotation::CREATED.to_owned(), t.clone());
    }
    if let Some(s) = &c.stop_signal {
        ann.insert("org.opencontainers.image.stopSignal".to_owned(), s.clone());
    }
    if let Some(ports) = &c.exposed_ports {
        let list: Vec<&str> = ports.keys().map(String::as_str).collect();
        ann.insert(
            "org.opencontainers.image.exposedPorts".to_owned(),
            list.join(","),
        );
    }
    spec.annotations = ann;
    Ok(spec)
}

/// Reads a file inside `rootfs`, resolving every component inside it.
fn read_in_root(rootfs: &Path, rel: &str) -> Option<String> {
    let root = crate::layer::Root::open(rootfs).ok()?;
    let fd = root.resolve(rel.as_bytes(), OFlags::RDONLY).ok()?;
    let mut s = String::new();
    std::fs::File::from(fd)
        .take(MAX_ID_FILE)
        .read_to_string(&mut s)
        .ok()?;
    Some(s)
}

/// `name:x:uid:gid:...` lines of a passwd or group file.
fn id_entries(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 3)
}

fn resolve_user(user: &str, rootfs: &Path) -> Result<User, Error> {
    let unknown = |what: &'static str| Error::BadEntry {
        entry: user.to_owned(),
        expected: what,
    };
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let passwd = read_in_root(rootfs, "etc/passwd").unwrap_or_default();
    let group = read_in_root(rootfs, "etc/group").unwrap_or_default();
    let (uid, name, primary) = match u.parse::<u32>() {
        Ok(uid) => {
            let entry = id_entries(&passwd).find(|f| f[2].parse() == Ok(uid));
            let primary = entry.as_ref().and_then(|f| f.get(3)?.parse::<u32>().ok());
            (uid, entry.map(|f| f[0].to_owned()), primary)
        }
        Err(_) => {
            let f = id_entries(&passwd)
                .find(|f| f[0] == u)
                .ok_or_else(|| unknown("a user named in the image's /etc/passwd"))?;
            let uid = f[2]
                .parse()
                .map_err(|_| unknown("a numeric uid in /etc/passwd"))?;
            let gid = f.get(3).and_then(|g| g.parse::<u32>().ok());
            (uid, Some(u.to_owned()), gid)
        }
    };
    let gid = match g {
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => id_entries(&group)
                .find(|f| f[0] == g)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| unknown("a group named in the image's /etc/group"))?,
        },
        None => primary.unwrap_or(0),
    };
    let mut additional: Vec<u32> = Vec::new();
    if g.is_none() {
        if let Some(name) = &name {
            for f in id_entries(&group) {
                if f.get(3).is_some_and(|m| m.split(',').any(|m| m == name)) {
                    if let Ok(id) = f[2].parse::<u32>() {
                        if id != gid && !additional.contains(&id) {
                            additional.push(id);
                        }
                    }
                }
            }
        }
    }
    let mut out = User::default();
    out.uid = uid;
    out.gid = gid;
    out.additional_gids = additional;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_resolve_inside_the_rootfs_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            root.join("etc/group"),
            "root:x:0:\napp:x:1000:\nwheel:x:10:app,root\naudio:x:29:app\n",
        )
        .unwrap();
        let u = resolve_user("app", root).unwrap();
        assert_eq!((u.uid, u.gid), (1000, 1000));
        assert_eq!(u.additional_gids, vec![10, 29]);
        let u = resolve_user("app:wheel", root).unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids.clone()),
            (1000, 10, vec![])
        );
        let u = resolve_user("1234:55", root).unwrap();
        assert_eq!((u.uid, u.gid), (1234, 55));
        assert!(resolve_user("nobody-here", root).is_err());
        assert!(resolve_user("app:nogroup", root).is_err());

        // An image whose /etc/passwd points at the host's is read inside
        // the root: the absolute link target resolves under rootfs.
        let evil = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(evil.path().join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", evil.path().join("etc/passwd")).unwrap();
        assert!(resolve_user("root", evil.path()).is_err());
    }

    #[test]
    fn conversion_follows_conversion_md() {
        let mut c = ImageConfiguration::new("linux", "arm64");
        c.variant = Some("v8".into());
        let mut cfg = ocikit_types::Config::default();
        cfg.entrypoint = Some(vec!["/bin/app".into()]);
        cfg.cmd = Some(vec!["--flag".into()]);
        cfg.env = Some(vec!["A=1".into()]);
        cfg.working_dir = Some("/srv".into());
        cfg.stop_signal = Some("SIGINT".into());
        let mut labels = BTreeMap::new();
        labels.insert(
            "org.opencontainers.image.os".to_owned(),
            "spoofed".to_owned(),
        );
        labels.insert("com.example".to_owned(), "x".to_owned());
        cfg.labels = Some(labels);
        let mut ports = BTreeMap::new();
        ports.insert("80/tcp".to_owned(), serde_json::json!({}));
        ports.insert("53/udp".to_owned(), serde_json::json!({}));
        cfg.exposed_ports = Some(ports);
        c.config = Some(cfg);
        let spec = runtime_config(&c, Path::new("/nonexistent")).unwrap();
        spec.validate().unwrap();
        let p = spec.process.as_ref().unwrap();
        assert_eq!(p.args, ["/bin/app", "--flag"]);
        assert_eq!(p.env, ["A=1"]);
        assert_eq!(p.cwd, "/srv");
        assert_eq!(spec.annotations["org.opencontainers.image.os"], "linux");
        assert_eq!(spec.annotations["org.opencontainers.image.variant"], "v8");
        assert_eq!(
            spec.annotations["org.opencontainers.image.stopSignal"],
            "SIGINT"
        );
        assert_eq!(
            spec.annotations["org.opencontainers.image.exposedPorts"],
            "53/udp,80/tcp"
        );
        assert_eq!(spec.annotations["com.example"], "x");
    }
}
