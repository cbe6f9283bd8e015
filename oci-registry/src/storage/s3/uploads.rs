//! Upload sessions in the bucket: `_uploads/<id>/info` and one segment
//! object per batch of bytes, named by its offset; committed into the blob
//! with a multipart upload.

use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use object_store::path::Path;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use ocikit_types::Digest;
use serde::{Deserialize, Serialize};

use super::read::Chain;
use super::S3Storage;
use crate::storage::UploadSession;
use crate::{Error, RepositoryName};

/// What `_uploads/<id>/info` holds.
#[derive(Serialize, Deserialize)]
struct Info {
    repository: String,
    /// Seconds since the Unix epoch.
    started: u64,
}

/// Parts uploaded at once while a blob is assembled (memory is about
/// this many parts of `chunk_size`).
const PARTS_IN_FLIGHT: usize = 2;

fn gone(id: &str) -> Error {
    Error::io(
        "find upload session",
        id,
        std::io::ErrorKind::NotFound.into(),
    )
}

impl S3Storage {
    pub(super) fn create_session(&self, repo: &RepositoryName) -> Result<UploadSession, Error> {
        let started = SystemTime::now();
        let secs = started
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let id = uuid::Uuid::new_v4().to_string();
        let info = Info {
            repository: repo.as_str().to_owned(),
            started: secs,
        };
        let bytes = serde_json::to_vec(&info).unwrap_or_default();
        self.put_small(&self.keys.upload_info(&id), bytes)?;
        self.set_size(&id, Some(0));
        Ok(UploadSession {
            id,
            repository: repo.clone(),
            size: 0,
            started: UNIX_EPOCH + Duration::from_secs(secs),
            updated: UNIX_EPOCH + Duration::from_secs(secs),
        })
    }

    fn set_size(&self, id: &str, size: Option<u64>) {
        let mut sizes = self.sizes.lock().unwrap_or_else(|e| e.into_inner());
        match size {
            Some(s) => sizes.insert(id.to_owned(), s),
            None => sizes.remove(id),
        };
    }

    /// The session's segments in order, checked to follow each other.
    fn segments(&self, id: &str) -> Result<(Vec<Path>, u64), Error> {
        let mut size = 0;
        let mut keys = Vec::new();
        for (key, len) in self.list_all(&self.keys.segments(id))? {
            let offset = key.filename().and_then(|n| n.parse::<u64>().ok());
            if offset != Some(size) {
                return Err(Error::Corrupt {
                    path: key.as_ref().into(),
                    expected: "the segment following the previous one",
                    found: format!("a segment at offset {offset:?}, where {size} was due"),
                });
            }
            size += len;
            keys.push(key);
        }
        Ok((keys, size))
    }

    pub(super) fn session(&self, id: &str) -> Result<Option<UploadSession>, Error> {
        let key = self.keys.upload_info(id);
        let Some(bytes) = self.get_small(&key)? else {
            self.set_size(id, None);
            return Ok(None);
        };
        let info: Info = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            path: key.as_ref().into(),
            expected: "an upload session's JSON",
            found: e.to_string(),
        })?;
        let repository = RepositoryName::parse(&info.repository).ok_or_else(|| Error::Corrupt {
            path: key.as_ref().into(),
            expected: "a repository name",
            found: info.repository.clone(),
        })?;
        let (_, size) = self.segments(id)?;
        self.set_size(id, Some(size));
        Ok(Some(UploadSession {
            id: id.to_owned(),
            repository,
            size,
            started: UNIX_EPOCH + Duration::from_secs(info.started),
            // The session's start: the bucket's sessions are not listed
            // for upload purging (see `Storage::uploads`), so no purge
            // reads this as idleness.
            updated: UNIX_EPOCH + Duration::from_secs(info.started),
        }))
    }

    pub(super) fn append(&self, id: &str, parts: &[&[u8]]) -> Result<u64, Error> {
        let cached = self
            .sizes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .copied();
        let size = match cached {
            Some(s) => s,
            None => self.session(id)?.ok_or_else(|| gone(id))?.size,
        };
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len == 0 {
            return Ok(size);
        }
        let payload: PutPayload = parts
            .iter()
            .map(|p| bytes::Bytes::copy_from_slice(p))
            .collect();
        let key = self.keys.segment(id, size);
        self.wait("write", &key, self.store.put(&key, payload))?;
        let size = size + len as u64;
        self.set_size(id, Some(size));
        Ok(size)
    }

    pub(super) fn read_session(&self, id: &str) -> Result<Box<dyn Read + Send>, Error> {
        if self.get_small(&self.keys.upload_info(id))?.is_none() {
            return Err(gone(id));
        }
        let (keys, _) = self.segments(id)?;
        Ok(Box::new(Chain::new(
            self.store.clone(),
            self.handle(),
            keys,
        )))
    }

    pub(super) fn commit(
        &self,
        id: &str,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<(), Error> {
        if self.get_small(&self.keys.upload_info(id))?.is_none() {
            return Err(gone(id));
        }
        // Stored already (pushed before): promised, or stored anew when a
        // collector is removing it.
        if self.exists(&self.keys.blob(digest))?.is_none() || self.promise(digest)?.is_none() {
            let (keys, size) = self.segments(id)?;
            self.assemble(keys, size, digest)?;
        }
        self.put_small(&self.keys.layer(repo, digest), digest.as_str().to_owned())?;
        self.drop_session(id)
    }

    /// Makes the segments `keys` (`size` bytes) the blob `digest`,
    /// checking the digest again as they are copied: another replica may
    /// have appended to the session since the caller verified it, and a
    /// blob is stored under its digest only when it matches.
    fn assemble(&self, keys: Vec<Path>, size: u64, digest: &Digest) -> Result<(), Error> {
        let blob = self.keys.blob(digest);
        let mut hasher = digest.digester().map_err(|e| Error::Corrupt {
            path: blob.as_ref().into(),
            expected: "a digest this registry computes",
            found: e.to_string(),
        })?;
        let mut reader = Chain::new(self.store.clone(), self.handle(), keys);
        let mismatch = |found: Digest| Error::Corrupt {
            path: blob.as_ref().into(),
            expected: "the upload's bytes to match their digest",
            found: format!("bytes of digest {found}"),
        };
        if size <= self.options.chunk_size {
            let mut all = Vec::with_capacity(size as usize);
            reader
                .read_to_end(&mut all)
                .map_err(|e| Error::io("read the upload segments of", blob.as_ref(), e))?;
            hasher.update(&all);
            let found = hasher.finalize();
            if &found != digest {
                return Err(mismatch(found));
            }
            return self.put_small(&blob, all);
        }
        let upload = self.wait(
            "start a multipart upload of",
            &blob,
            self.store.put_multipart(&blob),
        )?;
        let mut writer =
            WriteMultipart::new_with_chunk_size(upload, self.options.chunk_size as usize);
        let mut buf = vec![0; 1 << 20];
        let failed = loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break None,
                Ok(n) => n,
                Err(e) => break Some(Error::io("read the upload segments of", blob.as_ref(), e)),
            };
            let room = writer.wait_for_capacity(PARTS_IN_FLIGHT);
            if let Err(e) = self.wait("upload a part of", &blob, room) {
                break Some(e);
            }
            hasher.update(&buf[..n]);
            writer.write(&buf[..n]);
        };
        let failed = failed.or_else(|| {
            let found = hasher.finalize();
            (&found != digest).then(|| mismatch(found))
        });
        if let Some(e) = failed {
            let _ = self.wait("abort the multipart upload of", &blob, writer.abort());
            return Err(e);
        }
        self.wait("complete the multipart upload of", &blob, writer.finish())
            .map(drop)
    }

    /// Deletes every object of the session.
    pub(super) fn drop_session(&self, id: &str) -> Result<(), Error> {
        self.set_size(id, None);
        let (keys, _) = self.segments(id).unwrap_or_default();
        for key in keys {
            self.delete(&key)?;
        }
        self.delete(&self.keys.upload_info(id))
    }

    pub(super) fn cancel(&self, id: &str) -> Result<bool, Error> {
        let existed = self.get_small(&self.keys.upload_info(id))?.is_some();
        // Segments of a half-cancelled session go too.
        for (key, _) in self.list_all(&self.keys.upload(id))? {
            self.delete(&key)?;
        }
        self.set_size(id, None);
        Ok(existed)
    }
}
