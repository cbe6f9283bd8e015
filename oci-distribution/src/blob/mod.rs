//! Blobs: existence, cross-repository mounts and deletion here; downloads
//! in `pull`, streamed ones read through `stream`, uploads in `push` (the
//! verified body of a monolithic one in `push_body`).

mod pull;
mod push;
mod push_body;
mod stream;

pub use stream::BlobStream;

use ocikit_types::{Digest, Reference};
use reqwest::header::CONTENT_LENGTH;
use reqwest::{Method, StatusCode};

use crate::builder::Progress;
use crate::client::{scope, Access, Client};
use crate::transport::{check, header_str};
use crate::Error;

impl Client {
    /// Asks whether the repository has the blob (`HEAD`).
    ///
    /// # Errors
    /// [`Error::Status`] other than 404.
    pub async fn blob_exists(&self, r: &Reference, digest: &Digest) -> Result<bool, Error> {
        self.blob_exists_for(r, digest, Access::Pull).await
    }

    /// [`Client::blob_exists`] with the token scope of the operation it is
    /// part of: a push asks with `pull,push`, so that one token serves the
    /// check and the upload.
    pub(crate) async fn blob_exists_for(
        &self,
        r: &Reference,
        digest: &Digest,
        access: Access,
    ) -> Result<bool, Error> {
        let url = format!("{}/blobs/{digest}", self.base(r));
        let scopes = [scope(r.repository(), access)];
        let resp = self.send(r, &scopes, Method::HEAD, &url, &|b| b).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        check(resp, "HEAD", &url).await.map(|_| true)
    }

    /// The size of the blob as the repository states it (`HEAD`, its
    /// `Content-Length`); `None` when the repository does not have it.
    ///
    /// # Errors
    /// [`Error::Status`] other than 404, [`Error::Protocol`] when the
    /// answer has no size.
    pub async fn blob_size(&self, r: &Reference, digest: &Digest) -> Result<Option<u64>, Error> {
        let url = format!("{}/blobs/{digest}", self.base(r));
        let scopes = [scope(r.repository(), Access::Pull)];
        let resp = self.send(r, &scopes, Method::HEAD, &url, &|b| b).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = check(resp, "HEAD", &url).await?;
        let found = header_str(resp.headers(), "content-length").unwrap_or("none");
        match found.parse() {
            Ok(size) => Ok(Some(size)),
            Err(_) => Err(Error::Protocol {
                url,
                expected: "the blob's size in Content-Length",
                found: found.to_owned(),
            }),
        }
    }

    /// Mounts a blob from another repository of the same registry. Returns
    /// false when the registry declined (the caller then uploads).
    ///
    /// # Errors
    /// [`Error::Status`] for failures other than a declined mount.
    pub async fn mount_blob(
        &self,
        r: &Reference,
        from: &str,
        digest: &Digest,
    ) -> Result<bool, Error> {
        let url = format!("{}/blobs/uploads/?mount={digest}&from={from}", self.base(r));
        let scopes = [
            scope(r.repository(), Access::Push),
            scope(from, Access::Pull),
        ];
        let resp = self
            .send_ok(r, &scopes, Method::POST, &url, &|b| {
                b.header(CONTENT_LENGTH, "0")
            })
            .await?;
        if resp.status() == StatusCode::CREATED {
            self.progress(Progress::Skipped {
                digest: digest.clone(),
            });
            return Ok(true);
        }
        // 202: an upload session was opened instead; abandon it.
        if let Some(loc) = header_str(resp.headers(), "location") {
            let loc = self.absolute(&url, loc);
            let _ = self.send(r, &scopes, Method::DELETE, &loc, &|b| b).await;
        }
        Ok(false)
    }

    /// Deletes a blob.
    ///
    /// # Errors
    /// [`Error::Status`].
    pub async fn delete_blob(&self, r: &Reference, digest: &Digest) -> Result<(), Error> {
        self.delete(r, &format!("blobs/{digest}")).await
    }
}
