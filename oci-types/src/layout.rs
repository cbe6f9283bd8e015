//! The `oci-layout` file of an image layout (`image-layout.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::error::Validator;
use crate::{DocumentKind, Error, MediaType};

/// The image layout version this crate writes.
pub const LAYOUT_VERSION: &str = "1.0.0";

/// The `oci-layout` marker file at the root of an image layout.
///
/// ```
/// use ocikit_types::{Document, OciLayout};
/// let l = OciLayout::from_slice_validated(br#"{"imageLayoutVersion":"1.0.0"}"#)?;
/// assert_eq!(l, OciLayout::new());
/// # Ok::<(), ocikit_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OciLayout {
    /// REQUIRED. The layout version, `1.0.0`.
    pub image_layout_version: String,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl OciLayout {
    /// The current layout version.
    pub fn new() -> Self {
        OciLayout {
            image_layout_version: LAYOUT_VERSION.to_owned(),
            extra: BTreeMap::new(),
        }
    }
}

impl Default for OciLayout {
    fn default() -> Self {
        OciLayout::new()
    }
}

impl Document for OciLayout {
    const KIND: DocumentKind = DocumentKind::OciLayout;

    fn validate(&self) -> Result<(), Error> {
        let mut v = Validator::new();
        let parts: Vec<&str> = self.image_layout_version.split('.').collect();
        let semver = parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !semver || parts[0] != "1" {
            v.report_field(
                "imageLayoutVersion",
                "a 1.x.y version such as \"1.0.0\"",
                format!("{:?}", self.image_layout_version),
            );
        }
        v.finish(Self::KIND)
    }

    fn media_type(&self) -> Option<MediaType> {
        Some(MediaType::LayoutHeader)
    }
}
