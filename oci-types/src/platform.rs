//! Platforms: the `platform` object of index entries and descriptors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The platform an image runs on (`image-index.md`, "platform").
///
/// ```
/// use oci_types::Platform;
/// let p = Platform::new("arm64", "linux");
/// assert_eq!(p.architecture, "arm64");
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
    /// A platform with the two required fields.
    pub fn new(architecture: impl Into<String>, os: impl Into<String>) -> Self {
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
