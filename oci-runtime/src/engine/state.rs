//! Looking containers up: one by ID, or all of them.

use std::io;

use ocikit_types::runtime::State;

use super::container::{Container, Record};
use super::Runtime;
use crate::engine::id::ContainerId;
use crate::error::{Error, Result};

impl Runtime {
    /// The container `id`.
    ///
    /// # Errors
    /// [`Error::InvalidId`], [`Error::NotFound`], [`Error::CorruptState`].
    pub fn container(&self, id: &str) -> Result<Container> {
        let id: ContainerId = id.parse()?;
        let dir = self.root.join(id.as_str());
        let record = Record::load(&dir, id.as_str())?;
        Ok(Container { record, dir })
    }

    /// The state of container `id`, as `runc state` prints it.
    ///
    /// # Errors
    /// As [`Runtime::container`].
    pub fn state(&self, id: &str) -> Result<State> {
        Ok(self.container(id)?.state())
    }

    /// The states of every container, sorted by ID.
    ///
    /// # Errors
    /// [`Error::Io`] if the state directory cannot be read. Corrupt
    /// records are skipped with a warning.
    pub fn list(&self) -> Result<Vec<State>> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read state directory", &self.root, e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            match self.container(&name) {
                Ok(c) => out.push(c.state()),
                Err(e) => {
                    tracing::warn!(id = %name, error = &e as &dyn std::error::Error, "skipping container")
                }
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}
