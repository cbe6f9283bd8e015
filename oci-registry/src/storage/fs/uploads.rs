//! Upload sessions on disk: `_uploads/<id>/data` holds the bytes received,
//! `session.json` the repository and start time, so a session survives a
//! restart of the server.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ocikit_types::Digest;
use serde::{Deserialize, Serialize};

use super::{sync_dir, FsStorage};
use crate::storage::UploadSession;
use crate::{Error, RepositoryName};

#[derive(Serialize, Deserialize)]
struct SessionFile {
    repository: String,
    started: u64,
}

fn gone(path: PathBuf) -> Error {
    Error::io("find upload session", path, io::ErrorKind::NotFound.into())
}

impl FsStorage {
    /// The session's folder; ids are UUIDs (the server makes them), so a
    /// crafted id cannot leave `_uploads/`.
    fn session_dir(&self, id: &str) -> Result<PathBuf, Error> {
        let dir = self.root.join("_uploads").join(id);
        if uuid::Uuid::try_parse(id).is_err() {
            return Err(gone(dir));
        }
        Ok(dir)
    }

    pub(super) fn upload_data(&self, id: &str) -> Result<PathBuf, Error> {
        Ok(self.session_dir(id)?.join("data"))
    }

    pub(super) fn create_session(&self, repo: &RepositoryName) -> Result<UploadSession, Error> {
        let id = uuid::Uuid::new_v4().to_string();
        let dir = self.session_dir(&id)?;
        fs::create_dir(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        let started = SystemTime::now();
        let secs = started
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let info = SessionFile {
            repository: repo.as_str().to_owned(),
            started: secs,
        };
        let data = dir.join("data");
        fs::File::create(&data).map_err(|e| Error::io("create", &data, e))?;
        let json = serde_json::to_vec(&info).unwrap_or_default();
        ocikit_image::write_atomic(dir.join("session.json"), &json).map_err(|source| {
            Error::Layout {
                repository: repo.as_str().to_owned(),
                source: Box::new(source),
            }
        })?;
        Ok(UploadSession {
            id,
            repository: repo.clone(),
            size: 0,
            started,
            updated: started,
        })
    }

    pub(super) fn session(&self, id: &str) -> Result<Option<UploadSession>, Error> {
        let Ok(dir) = self.session_dir(id) else {
            return Ok(None);
        };
        let path = dir.join("session.json");
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        let corrupt = |found: String| Error::Corrupt {
            path: path.clone(),
            expected: "an upload session's repository and start time",
            found,
        };
        let info: SessionFile =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        let repository = RepositoryName::parse(&info.repository)
            .ok_or_else(|| corrupt(info.repository.clone()))?;
        let started = UNIX_EPOCH + Duration::from_secs(info.started);
        let data = dir.join("data");
        let (size, updated) = match fs::metadata(&data) {
            Ok(m) => (m.len(), m.modified().unwrap_or(started)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => (0, started),
            Err(e) => return Err(Error::io("read metadata of", &data, e)),
        };
        Ok(Some(UploadSession {
            id: id.to_owned(),
            repository,
            size,
            started,
            updated,
        }))
    }

    pub(super) fn append(&self, id: &str, bytes: &[u8]) -> Result<u64, Error> {
        self.append_parts(id, &[bytes])
    }

    /// Appends `parts` with vectored writes (a batch of received frames
    /// in one system call, without gathering them into one buffer).
    pub(super) fn append_parts(&self, id: &str, parts: &[&[u8]]) -> Result<u64, Error> {
        let path = self.upload_data(id)?;
        let mut f = match OpenOptions::new().append(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(gone(path)),
            Err(e) => return Err(Error::io("open", &path, e)),
        };
        write_all_vectored(&mut f, parts).map_err(|e| Error::io("append to", &path, e))?;
        let len = f
            .metadata()
            .map_err(|e| Error::io("read metadata of", &path, e))?
            .len();
        Ok(len)
    }

    pub(super) fn commit(
        &self,
        id: &str,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<(), Error> {
        let path = self.upload_data(id)?;
        fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io("sync", &path, e))?;
        // Shared: the blob is installed, linked and promised in one step
        // against a collector's removal.
        let _lock = self.gc_lock(super::Lock::Shared)?;
        self.install_shared(&path, digest)?;
        if !self.link(repo, digest)? {
            return Err(gone(self.shared_blob(digest)));
        }
        self.remove_session(id)?;
        Ok(())
    }

    pub(super) fn remove_session(&self, id: &str) -> Result<bool, Error> {
        let Ok(dir) = self.session_dir(id) else {
            return Ok(false);
        };
        match fs::remove_dir_all(&dir) {
            Ok(()) => {
                sync_dir(&self.root.join("_uploads"))?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("remove", &dir, e)),
        }
    }
}

/// `Write::write_all_vectored`, which is not stable yet.
fn write_all_vectored(f: &mut fs::File, parts: &[&[u8]]) -> io::Result<()> {
    let mut slices: Vec<io::IoSlice<'_>> = parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| io::IoSlice::new(p))
        .collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        // At most IOV_MAX (1024) slices per call on Linux.
        let n = rest.len().min(1024);
        match f.write_vectored(&rest[..n]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(k) => io::IoSlice::advance_slices(&mut rest, k),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
