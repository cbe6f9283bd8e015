//! The state of a container (runtime-spec `runtime.md`, "State").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{check_annotations, check_version, is_absolute};
use crate::document::Document;
use crate::error::Validator;
use crate::{DocumentKind, Error};

/// The state of a container, as the `state` operation reports it
/// (runtime-spec [`runtime.md`]).
///
/// ```
/// use ocikit_types::Document;
/// use ocikit_types::runtime::{State, Status};
/// let s = State::from_slice_validated(br#"{"ociVersion":"1.2.0","id":"web",
///   "status":"running","pid":4422,"bundle":"/containers/web"}"#)?;
/// assert_eq!(s.status, Status::Running);
/// # Ok::<(), ocikit_types::Error>(())
/// ```
///
/// [`runtime.md`]: https://github.com/opencontainers/runtime-spec/blob/main/runtime.md
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct State {
    /// REQUIRED. The runtime-spec version the state complies with.
    pub oci_version: String,
    /// REQUIRED. The container's ID, unique on this host.
    pub id: String,
    /// REQUIRED. The runtime state of the container.
    pub status: Status,
    /// REQUIRED on Linux when `status` is `created` or `running`, OPTIONAL
    /// elsewhere. The container process's ID as seen by the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// REQUIRED. Absolute path to the container's bundle directory.
    pub bundle: String,
    /// OPTIONAL. The annotations of the container's configuration.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl State {
    /// The state of container `id`, from `bundle`, with `status`.
    pub fn new(
        oci_version: impl Into<String>,
        id: impl Into<String>,
        status: Status,
        bundle: impl Into<String>,
    ) -> Self {
        State {
            oci_version: oci_version.into(),
            id: id.into(),
            status,
            pid: None,
            bundle: bundle.into(),
            annotations: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }
}

open_enum! {
    /// The runtime state of a container; the schema closes this set.
    pub enum Status {
        Creating => "creating",
        Created => "created",
        Running => "running",
        Stopped => "stopped",
    }
}

impl Document for State {
    const KIND: DocumentKind = DocumentKind::RuntimeState;

    fn validate(&self) -> Result<(), Error> {
        let mut v = Validator::new();
        check_version(&mut v, "ociVersion", &self.oci_version);
        if self.id.is_empty() {
            v.report_field("id", "a non-empty container ID", "\"\"");
        }
        v.field("status", |v| self.status.check_known(v));
        if !is_absolute(&self.bundle) {
            v.report_field("bundle", "an absolute path", format!("{:?}", self.bundle));
        }
        check_annotations(&mut v, &self.annotations);
        v.finish(Self::KIND)
    }
}
