//! Image configurations (`config.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::error::Validator;
use crate::{Digest, DocumentKind, Error, MediaType};

/// An image configuration: the platform, the runtime defaults and the
/// ordered layer diff IDs of an image (`config.md`).
///
/// ```
/// use ocikit_types::{Document, ImageConfiguration};
/// let bytes = br#"{"architecture":"amd64","os":"linux",
///   "config":{"Env":["PATH=/bin"],"Cmd":["sh"]},
///   "rootfs":{"type":"layers","diff_ids":[]},"docker_version":"24.0"}"#;
/// let c = ImageConfiguration::from_slice_validated(bytes)?;
/// assert_eq!(c.config.as_ref().unwrap().cmd, Some(vec!["sh".to_string()]));
/// assert!(c.extra.contains_key("docker_version")); // kept, not dropped
/// # Ok::<(), ocikit_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageConfiguration {
    /// OPTIONAL. Creation time, RFC 3339 section 5.6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// OPTIONAL. Name or email of the author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// REQUIRED. CPU architecture (`GOARCH` spelling).
    pub architecture: String,
    /// REQUIRED. Operating system (`GOOS` spelling).
    pub os: String,
    /// OPTIONAL. Operating system version.
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// OPTIONAL. Required OS features.
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    /// OPTIONAL. CPU variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// OPTIONAL. Execution parameters to use as defaults for a container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Config>,
    /// REQUIRED. The layer diff IDs.
    pub rootfs: RootFs,
    /// OPTIONAL. The history of each layer, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    /// Fields this crate does not know (Docker's `container_config`, ...).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl ImageConfiguration {
    /// A configuration for `os` and `architecture`, in the order of the
    /// `os/architecture` form as [`crate::Platform::new`], with no layers.
    pub fn new(os: impl Into<String>, architecture: impl Into<String>) -> Self {
        ImageConfiguration {
            architecture: architecture.into(),
            os: os.into(),
            rootfs: RootFs::new(Vec::new()),
            ..ImageConfiguration::default()
        }
    }
}

/// The execution defaults of an image (`config.md`, `config` field). Field
/// names keep Docker's capitalisation, as the specification does.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Config {
    /// OPTIONAL. `user`, `uid`, `user:group`, `uid:gid`, `uid:group` or `user:gid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// OPTIONAL. Ports to expose: keys `port/tcp`, `port/udp` or `port`, values `{}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    /// OPTIONAL. Environment, each entry `VARNAME=VARVALUE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// OPTIONAL. Arguments to use as the command to execute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// OPTIONAL. Default arguments to the entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// OPTIONAL. Directories that should be volumes: keys paths, values `{}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    /// OPTIONAL. Working directory of the entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// OPTIONAL. Arbitrary metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// OPTIONAL. The signal that stops the container (`SIGTERM`, `9`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// OPTIONAL, Windows only, deprecated: the command line is pre-escaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    /// Fields this crate does not know (Docker's `Healthcheck`, `Shell`, ...).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The layer diff IDs of an image.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RootFs {
    /// REQUIRED. MUST be `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// REQUIRED. Digests of the uncompressed layer tars, base first.
    pub diff_ids: Vec<Digest>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl RootFs {
    /// A `layers` rootfs with these diff IDs.
    pub fn new(diff_ids: Vec<Digest>) -> Self {
        RootFs {
            kind: "layers".to_owned(),
            diff_ids,
            extra: BTreeMap::new(),
        }
    }
}

/// One history entry: how a layer was made.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct History {
    /// OPTIONAL. When the layer was created, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// OPTIONAL. The command that created the layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// OPTIONAL. Author of the build point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// OPTIONAL. A custom message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// OPTIONAL. True when this entry made no filesystem change (no layer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_layer: Option<bool>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Document for ImageConfiguration {
    const KIND: DocumentKind = DocumentKind::ImageConfiguration;

    fn validate(&self) -> Result<(), Error> {
        let mut v = Validator::new();
        if let Some(c) = &self.created {
            if !crate::rfc3339::is_valid(c) {
                v.report_field("created", "an RFC 3339 date-time", format!("{c:?}"));
            }
        }
        if self.architecture.is_empty() {
            v.report_field("architecture", "a non-empty architecture", "\"\"");
        }
        if self.os.is_empty() {
            v.report_field("os", "a non-empty os", "\"\"");
        }
        if let Some(c) = &self.config {
            v.field("config", |v| {
                if let Some(env) = &c.env {
                    v.field("Env", |v| {
                        for (i, e) in env.iter().enumerate() {
                            let ok = e.find('=').is_some_and(|p| p > 0);
                            if !ok {
                                v.index(i, |v| v.report("`VARNAME=VARVALUE`", format!("{e:?}")));
                            }
                        }
                    });
                }
            });
        }
        v.field("rootfs", |v| {
            if self.rootfs.kind != "layers" {
                v.report_field("type", "\"layers\"", format!("{:?}", self.rootfs.kind));
            }
        });
        v.field("history", |v| {
            for (i, h) in self.history.iter().enumerate() {
                if let Some(c) = &h.created {
                    if !crate::rfc3339::is_valid(c) {
                        v.index(i, |v| {
                            v.report_field("created", "an RFC 3339 date-time", format!("{c:?}"))
                        });
                    }
                }
            }
        });
        v.finish(Self::KIND)
    }

    fn media_type(&self) -> Option<MediaType> {
        Some(MediaType::ImageConfig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_violation_with_paths() {
        let bytes = br#"{"architecture":"","os":"linux","created":"yesterday",
            "config":{"Env":["A=1","NOVALUE","=x"]},
            "rootfs":{"type":"tarballs","diff_ids":[]}}"#;
        let c = ImageConfiguration::from_slice(bytes).unwrap();
        let err = c.validate().unwrap_err();
        let paths: Vec<_> = err.violations().iter().map(|v| v.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "$.created",
                "$.architecture",
                "$.config.Env[1]",
                "$.config.Env[2]",
                "$.rootfs.type"
            ]
        );
        assert!(err.to_string().contains("\"NOVALUE\""));
    }
}
