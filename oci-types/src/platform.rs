//! Platforms: the `platform` object of index entries and descriptors, the
//! `os/arch[/variant]` strings people write for them, and how to pick the
//! manifest of an index that suits a machine.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Descriptor, Error};

/// The platform an image runs on (`image-index.md`, "platform").
///
/// Besides the JSON object, a platform has a string form,
/// `os[(os.version)]/architecture[/variant]`, read by [`FromStr`] (which
/// normalises, see [`Platform::normalized`]) and written by
/// [`Display`](fmt::Display). [`Platform::matches`] and
/// [`Platform::best_match`] choose among the manifests of an index.
///
/// ```
/// use ocikit_types::Platform;
/// let p = Platform::new("linux", "arm64");
/// assert_eq!(p.architecture, "arm64");
///
/// let wanted: Platform = "linux/aarch64".parse()?;
/// assert_eq!(wanted, p);
/// assert_eq!(wanted.to_string(), "linux/arm64");
/// # Ok::<(), ocikit_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Platform {
    /// REQUIRED. CPU architecture, in `GOARCH` spelling (`amd64`, `arm64`, ...).
    pub architecture: String,
    /// REQUIRED. Operating system, in `GOOS` spelling (`linux`, `windows`, ...).
    pub os: String,
    /// OPTIONAL. Operating system version, such as `10.0.14393.1066` on Windows.
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// OPTIONAL. Required OS features, such as `win32k`.
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    /// OPTIONAL. CPU variant, such as `v7` for arm or `v8` for arm64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// RESERVED by the specification for future use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// Fields this crate does not know, kept so that nothing is lost.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Platform {
    /// A platform with the two required fields, in the order of the
    /// `os/architecture` form: `Platform::new("linux", "arm64")` is
    /// `linux/arm64`.
    pub fn new(os: impl Into<String>, architecture: impl Into<String>) -> Self {
        Platform {
            architecture: architecture.into(),
            os: os.into(),
            ..Platform::default()
        }
    }
}

impl Platform {
    pub(crate) fn check(&self, v: &mut crate::error::Validator) {
        if self.architecture.is_empty() {
            v.report_field("architecture", "a non-empty architecture", "\"\"");
        }
        if self.os.is_empty() {
            v.report_field("os", "a non-empty os", "\"\"");
        }
    }
}

/// The Windows build from which containerd accepts older LTSC images
/// (Windows Server 2022, `10.0.20348`).
const WINDOWS_LTSC_2022: u32 = 20348;

/// Lowercases and maps the operating-system names people write to `GOOS`.
fn normalize_os(os: &str) -> String {
    let os = os.to_ascii_lowercase();
    match os.as_str() {
        "macos" => "darwin".to_owned(),
        _ => os,
    }
}

/// Lowercases and maps architecture and variant to `GOARCH` spellings and
/// canonical variants, as containerd's `normalizeArch` does (plus the
/// `i486`, `i586` and `i686` names of `386`).
fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let arch = arch.to_ascii_lowercase();
    let variant = variant.to_ascii_lowercase();
    let (a, v): (&str, &str) = match arch.as_str() {
        "i386" | "i486" | "i586" | "i686" => ("386", ""),
        "x86_64" | "x86-64" | "amd64" => ("amd64", if variant == "v1" { "" } else { &variant }),
        "aarch64" | "arm64" => match variant.as_str() {
            "8" | "v8" | "v8.0" => ("arm64", ""),
            "9" | "9.0" | "v9.0" => ("arm64", "v9"),
            v => ("arm64", v),
        },
        "armhf" => ("arm", "v7"),
        "armel" => ("arm", "v6"),
        "arm" => match variant.as_str() {
            "" | "7" => ("arm", "v7"),
            "5" => ("arm", "v5"),
            "6" => ("arm", "v6"),
            "8" => ("arm", "v8"),
            v => ("arm", v),
        },
        a => (a, &variant),
    };
    (a.to_owned(), v.to_owned())
}

/// The number in a variant `vN` (or `N`), as containerd reads it.
fn variant_number(variant: &str) -> Option<u32> {
    variant.strip_prefix('v').unwrap_or(variant).parse().ok()
}

/// The `(major, minor)` of an arm64 variant, `""` meaning `v8`.
fn arm64_version(variant: &str) -> Option<(u32, u32)> {
    let v = if variant.is_empty() { "v8" } else { variant };
    let (major, minor) = match v.strip_prefix('v')?.split_once('.') {
        Some((major, minor)) => (major, minor),
        None => (v.strip_prefix('v')?, "0"),
    };
    let (major, minor) = (major.parse().ok()?, minor.parse().ok()?);
    ((major == 8 || major == 9) && minor <= 9).then_some((major, minor))
}

fn arm64_variant(major: u32, minor: u32) -> String {
    match (major, minor) {
        (8, 0) => String::new(),
        (_, 0) => format!("v{major}"),
        _ => format!("v{major}.{minor}"),
    }
}

/// `major.minor.build` and the revision of a Windows `os.version`.
fn windows_version(v: &str) -> Option<(u32, u32, u32, u32)> {
    let mut parts = v.split('.');
    let mut next = || parts.next().and_then(|p| p.parse::<u32>().ok());
    let (major, minor, build) = (next()?, next()?, next()?);
    Some((major, minor, build, next().unwrap_or(0)))
}

/// Whether a Windows host at `host` runs an image built for `image`, by
/// containerd's rule: same major and minor; before Windows Server 2022 the
/// same build; from it on, any build from 2022's up to the host's.
fn windows_compatible(host: &str, image: &str) -> bool {
    let Some((h_major, h_minor, h_build, _)) = windows_version(host) else {
        return true;
    };
    let Some((major, minor, build, _)) = windows_version(image) else {
        return false;
    };
    if (h_major, h_minor) != (major, minor) {
        return false;
    }
    if h_build < WINDOWS_LTSC_2022 {
        build == h_build
    } else {
        (WINDOWS_LTSC_2022..=h_build).contains(&build)
    }
}

/// How well a candidate suits; smaller is better.
type Rank = (usize, u8, Reverse<u32>);

fn is_os_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_part_char(b: u8) -> bool {
    is_os_char(b) || b == b'.'
}

impl Platform {
    /// The platform with its names in canonical form, as containerd's
    /// `platforms.Normalize` writes them:
    ///
    /// | written | normalised |
    /// |---|---|
    /// | os in any case, `macos` | lowercase, `darwin` |
    /// | `x86_64`, `x86-64`, `amd64`; variant `v1` | `amd64`, no variant |
    /// | `aarch64`, `arm64`; variant `8`, `v8`, `v8.0` | `arm64`, no variant |
    /// | `arm64` variant `9`, `9.0`, `v9.0` | `arm64/v9` |
    /// | `armhf` | `arm/v7` |
    /// | `armel` | `arm/v6` |
    /// | `arm` with no variant or `7`; `5`, `6`, `8` | `arm/v7`; `arm/v5`, `arm/v6`, `arm/v8` |
    /// | `i386`, `i486`, `i586`, `i686` | `386`, no variant |
    ///
    /// Architecture and variant are lowercased too. Other names pass
    /// through, and an empty os stays empty. Normalising twice changes
    /// nothing more.
    ///
    /// ```
    /// use ocikit_types::Platform;
    /// let p = Platform::new("Linux", "aarch64").normalized();
    /// assert_eq!((p.os.as_str(), p.architecture.as_str(), p.variant), ("linux", "arm64", None));
    /// let p = Platform::new("linux", "armhf").normalized();
    /// assert_eq!(p.variant.as_deref(), Some("v7"));
    /// ```
    pub fn normalized(&self) -> Platform {
        let mut p = self.clone();
        p.os = normalize_os(&self.os);
        let (arch, variant) =
            normalize_arch(&self.architecture, self.variant.as_deref().unwrap_or(""));
        p.architecture = arch;
        p.variant = (!variant.is_empty()).then_some(variant);
        p
    }

    /// The platform this program runs on, in `GOOS`/`GOARCH` names and
    /// normalised (`linux/amd64`, `darwin/arm64`, `linux/arm/v7`).
    ///
    /// The arm variant comes from the target features the program was
    /// compiled for; `os.version` is not filled in.
    pub fn host() -> Platform {
        use std::env::consts::{ARCH, OS};
        let little = cfg!(target_endian = "little");
        let arch = match ARCH {
            "x86_64" => "amd64",
            "x86" => "386",
            "aarch64" => "arm64",
            "powerpc" => "ppc",
            "powerpc64" if little => "ppc64le",
            "powerpc64" => "ppc64",
            "mips" if little => "mipsle",
            "mips64" if little => "mips64le",
            "loongarch64" => "loong64",
            "wasm32" => "wasm",
            other => other,
        };
        let mut p = Platform::new(OS, arch);
        if arch == "arm" {
            let variant = if cfg!(target_feature = "v8") {
                "v8"
            } else if cfg!(target_feature = "v7") {
                "v7"
            } else if cfg!(target_feature = "v6") {
                "v6"
            } else {
                "v5"
            };
            p.variant = Some(variant.to_owned());
        }
        p.normalized()
    }

    /// The `(architecture, variant)` pairs a machine of this (normalised)
    /// platform runs, best first: containerd's `platformVector`.
    fn fallbacks(&self) -> Vec<(String, String)> {
        let arch = self.architecture.as_str();
        let variant = self.variant.as_deref().unwrap_or("");
        let mut out = Vec::new();
        match arch {
            "amd64" => {
                out.push((arch.to_owned(), variant.to_owned()));
                if let Some(n) = variant_number(variant).filter(|&n| n > 1) {
                    for k in (1..n).rev() {
                        let v = if k == 1 {
                            String::new()
                        } else {
                            format!("v{k}")
                        };
                        out.push((arch.to_owned(), v));
                    }
                }
                out.push(("386".to_owned(), String::new()));
            }
            "arm" => {
                out.push((arch.to_owned(), variant.to_owned()));
                if let Some(n) = variant_number(variant).filter(|&n| n > 5) {
                    for k in (5..n).rev() {
                        out.push((arch.to_owned(), format!("v{k}")));
                    }
                }
            }
            "arm64" => match arm64_version(variant) {
                Some((major, minor)) => {
                    for m in (0..=minor).rev() {
                        out.push((arch.to_owned(), arm64_variant(major, m)));
                    }
                    if major == 9 {
                        for m in (0..=(minor + 5).min(9)).rev() {
                            out.push((arch.to_owned(), arm64_variant(8, m)));
                        }
                    }
                    for k in (5..=8).rev() {
                        out.push(("arm".to_owned(), format!("v{k}")));
                    }
                }
                None => out.push((arch.to_owned(), variant.to_owned())),
            },
            _ => out.push((arch.to_owned(), variant.to_owned())),
        }
        out
    }

    /// How well `candidate` suits a machine of `self` (both normalised).
    fn rank(&self, fallbacks: &[(String, String)], candidate: &Platform) -> Option<Rank> {
        let c = candidate.normalized();
        if c.os != self.os {
            return None;
        }
        let c_variant = c.variant.as_deref().unwrap_or("");
        let index = fallbacks
            .iter()
            .position(|(a, v)| *a == c.architecture && v == c_variant)?;
        if self.os != "windows" {
            return Some((index, 0, Reverse(0)));
        }
        let wanted = self.os_version.as_deref().unwrap_or("");
        let found = c.os_version.as_deref().unwrap_or("");
        if !wanted.is_empty() && !found.is_empty() && !windows_compatible(wanted, found) {
            return None;
        }
        let (w, f) = (windows_version(wanted), windows_version(found));
        let closeness = match (w, f) {
            _ if wanted == found => 0,
            (Some(w), Some(f)) if (w.0, w.1, w.2) == (f.0, f.1, f.2) => 1,
            _ => 2,
        };
        Some((index, closeness, Reverse(f.map_or(0, |f| f.3))))
    }

    /// True when an image built for `candidate` runs on a machine of
    /// `self`, the platform wanted. Both sides are normalised first; then,
    /// as containerd's `platforms.Only` decides:
    ///
    /// - the os must be equal;
    /// - the architecture and variant must be `self`'s or one it falls back
    ///   to. `arm/vN` runs `arm/vN` down to `arm/v5`. `amd64/vN` runs
    ///   `amd64/vN` down to `amd64` with no variant (`v1`), then `386`.
    ///   `arm64/v8.N` runs `arm64/v8.N` down to `arm64` (`v8`), `arm64/v9.N`
    ///   runs `v9.N` down to `v9`, then `v8.(N+5)` down to `v8`, and every
    ///   arm64 runs `arm/v8` down to `arm/v5`. Other architectures run only
    ///   their own variant;
    /// - on Windows only, when both sides give an `os.version`, they must be
    ///   compatible: the same major and minor version, and the same build,
    ///   except that a host from Windows Server 2022 (build 20348) on runs
    ///   every build from 20348 up to its own.
    ///
    /// `os.features` and `features` are not compared.
    ///
    /// ```
    /// use ocikit_types::Platform;
    /// let pi: Platform = "linux/arm/v7".parse()?;
    /// assert!(pi.matches(&"linux/arm/v6".parse()?));
    /// assert!(!pi.matches(&"linux/arm/v8".parse()?));
    /// let mac: Platform = "macos/aarch64".parse()?;
    /// assert!(mac.matches(&Platform::new("darwin", "arm64")));
    /// # Ok::<(), ocikit_types::Error>(())
    /// ```
    pub fn matches(&self, candidate: &Platform) -> bool {
        let wanted = self.normalized();
        wanted.rank(&wanted.fallbacks(), candidate).is_some()
    }

    /// The index, among `candidates`, of the one best for a machine of
    /// `self`, or `None` when none [`matches`](Platform::matches).
    ///
    /// A candidate earlier in the fallback order described at
    /// [`Platform::matches`] wins (`arm/v7` is preferred to `arm/v6`, that
    /// to `arm/v5`). On Windows, among equally good architectures, an
    /// identical `os.version` wins, then one of the same build, then the
    /// highest revision. Remaining ties go to the earliest candidate.
    ///
    /// ```
    /// use ocikit_types::Platform;
    /// let index: Vec<Platform> = ["linux/amd64", "linux/arm/v5", "linux/arm/v6", "linux/arm64"]
    ///     .iter()
    ///     .map(|s| s.parse())
    ///     .collect::<Result<_, _>>()?;
    /// let pi: Platform = "linux/arm/v7".parse()?;
    /// assert_eq!(pi.best_match(&index), Some(2));
    /// assert_eq!(Platform::new("linux", "s390x").best_match(&index), None);
    /// # Ok::<(), ocikit_types::Error>(())
    /// ```
    pub fn best_match<'a>(
        &self,
        candidates: impl IntoIterator<Item = &'a Platform>,
    ) -> Option<usize> {
        self.best_match_inner(&mut candidates.into_iter())
    }

    /// The entry of an index (its `manifests`) to follow for this
    /// platform: the best match among the entries' platforms (see
    /// [`Platform::best_match`]; an entry without a platform matches
    /// nothing), else the first nested index, which may hold the match.
    /// Callers that walk an index tree (pull, copy, bundles) call this at
    /// each level until they reach a manifest.
    ///
    /// ```
    /// use ocikit_types::{Descriptor, Digest, MediaType, Platform};
    /// let entry = |p: &str| -> Result<Descriptor, ocikit_types::Error> {
    ///     let mut d = Descriptor::new(MediaType::ImageManifest, Digest::sha256(p.as_bytes()), 1);
    ///     d.platform = Some(p.parse()?);
    ///     Ok(d)
    /// };
    /// let index = [entry("linux/amd64")?, entry("linux/arm64")?];
    /// let wanted: Platform = "linux/arm64".parse()?;
    /// assert_eq!(wanted.select(&index)?.digest, index[1].digest);
    /// let err = "linux/s390x".parse::<Platform>()?.select(&index).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "no manifest for platform linux/s390x: the index offers linux/amd64, linux/arm64"
    /// );
    /// # Ok::<(), ocikit_types::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::PlatformNotFound`], listing the platforms the entries offer.
    pub fn select<'a>(&self, entries: &'a [Descriptor]) -> Result<&'a Descriptor, Error> {
        let none = Platform::default();
        let platforms = entries.iter().map(|d| d.platform.as_ref().unwrap_or(&none));
        if let Some(i) = self.best_match(platforms) {
            return Ok(&entries[i]);
        }
        if let Some(nested) = entries.iter().find(|d| d.media_type.is_index()) {
            return Ok(nested);
        }
        Err(Error::PlatformNotFound {
            wanted: Box::new(self.clone()),
            available: entries.iter().filter_map(|d| d.platform.clone()).collect(),
        })
    }

    fn best_match_inner(&self, candidates: &mut dyn Iterator<Item = &Platform>) -> Option<usize> {
        let wanted = self.normalized();
        let fallbacks = wanted.fallbacks();
        let mut best: Option<(Rank, usize)> = None;
        for (i, c) in candidates.enumerate() {
            if let Some(rank) = wanted.rank(&fallbacks, c) {
                if best.as_ref().is_none_or(|(b, _)| rank < *b) {
                    best = Some((rank, i));
                }
            }
        }
        best.map(|(_, i)| i)
    }

    fn parse_str(s: &str) -> Result<Platform, Error> {
        let bad = |expected| Error::InvalidPlatform {
            input: s.to_owned(),
            expected,
        };
        let parts: Vec<&str> = s.split('/').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad("`os/arch` or `os/arch/variant`"));
        }
        let (os, os_version) = match parts[0].split_once('(') {
            Some((os, rest)) => {
                let version = rest
                    .strip_suffix(')')
                    .filter(|v| v.bytes().all(is_part_char))
                    .ok_or_else(|| bad("an os version of [A-Za-z0-9_.-] closed by )"))?;
                (os, (!version.is_empty()).then(|| version.to_owned()))
            }
            None => (parts[0], None),
        };
        if os.is_empty() || !os.bytes().all(is_os_char) {
            return Err(bad("an os of [A-Za-z0-9_-]"));
        }
        let valid = |p: &str| !p.is_empty() && p.bytes().all(is_part_char);
        if !valid(parts[1]) {
            return Err(bad("an architecture of [A-Za-z0-9_.-]"));
        }
        let variant = match parts.get(2) {
            Some(v) if !valid(v) => return Err(bad("a variant of [A-Za-z0-9_.-]")),
            v => v.map(|v| (*v).to_owned()),
        };
        let mut p = Platform::new(os, parts[1]);
        p.os_version = os_version;
        p.variant = variant;
        Ok(p.normalized())
    }
}

/// Reads `os[(os.version)]/architecture[/variant]`, such as `linux/amd64`,
/// `linux/arm64/v8` or `windows(10.0.20348.2113)/amd64`, and normalises it
/// (see [`Platform::normalized`]): `linux/arm64/v8` reads as `linux/arm64`,
/// `linux/arm` as `linux/arm/v7`.
///
/// # Errors
/// [`Error::InvalidPlatform`] when there are not two or three `/`-separated
/// parts, or a part is empty or has characters outside `[A-Za-z0-9_.-]`
/// (`[A-Za-z0-9_-]` for the os).
impl FromStr for Platform {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Platform::parse_str(s)
    }
}

/// Writes `os[(os.version)]/architecture[/variant]`, as containerd's
/// `FormatAll` does, without normalising; a normalised platform reads back
/// equal through [`FromStr`] (other fields aside).
impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.os)?;
        if let Some(v) = self.os_version.as_deref().filter(|v| !v.is_empty()) {
            write!(f, "({v})")?;
        }
        write!(f, "/{}", self.architecture)?;
        if let Some(v) = self.variant.as_deref().filter(|v| !v.is_empty()) {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
