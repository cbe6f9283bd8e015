//! An OCI registry server ([distribution-spec] 1.1): embeddable in a test in
//! one line, or run as the `ocikit-registry` binary in place of CNCF
//! Distribution, with its `config.yml`.
//!
//! - The whole API: blob `GET`/`HEAD` with `Range`; uploads (monolithic,
//!   session then `PUT`, chunked `PATCH` with `Content-Range` in order,
//!   streamed `PATCH`, status, cancel), digests computed while the bytes
//!   arrive and blobs committed only when they match; cross-repository
//!   mounts (with `from`, and automatic without it); manifests by tag and
//!   digest, returned byte for byte with their pushed `Content-Type`,
//!   validated (4 MiB cap, referenced blobs and child manifests must be in
//!   the repository); `subject` with `OCI-Subject` and the referrers API
//!   with the `artifactType` filter; tag listing and the catalog with
//!   `n`/`last` paging; deletes (405 when disabled); the spec's error codes;
//!   repository names checked against the spec's grammar; sha256 and
//!   sha512 digests.
//! - Storage behind the [`Storage`] trait: [`MemoryStorage`], and
//!   [`FsStorage`], where blobs are stored once across repositories,
//!   every file is written to a temp file, synced and renamed, upload
//!   sessions survive a restart, and each repository is a plain OCI image
//!   layout (readable by skopeo and umoci); and [`S3Storage`], in an
//!   S3-compatible bucket with Distribution's layout, shared by any number
//!   of registry processes with no other coordination (an upload session
//!   continues on any replica, tags move with one put, the last racing
//!   push wins whole), blobs assembled with multipart uploads and checked
//!   against their digest before they are stored, and optional `307`
//!   redirects of blob `GET`s to presigned URLs.
//! - [`Config`]: Distribution's `config.yml` (`http.addr`,
//!   `storage.filesystem.rootdirectory`, `storage.s3` with `bucket`,
//!   `region`, `regionendpoint`, `accesskey`, `secretkey`,
//!   `rootdirectory`, `chunksize`, `storage.redirect.disable`,
//!   `storage.delete.enabled`, `log.level`), naming every key it ignores.
//!
//! Not yet: authentication, TLS, pull-through caching, garbage collection,
//! metrics and rate limits.
//!
//! # Example
//!
//! A registry in a test, on a free loopback port, answering the API's
//! ping:
//!
//! ```
//! use ocikit_registry::Registry;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let reg = Registry::builder().in_memory().spawn("127.0.0.1:0").await?;
//! // Any client can push to and pull from `{reg.host()}/repo:tag` now.
//! assert_eq!(reg.url(), format!("http://{}", reg.host()));
//!
//! let mut conn = tokio::net::TcpStream::connect(reg.addr()).await?;
//! conn.write_all(b"GET /v2/ HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await?;
//! let mut reply = String::new();
//! conn.read_to_string(&mut reply).await?;
//! assert!(reply.starts_with("HTTP/1.1 200 OK"));
//! reg.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! As a server, `ocikit-registry serve config.yml`.
//!
//! [distribution-spec]: https://github.com/opencontainers/distribution-spec/blob/main/spec.md
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]

mod config;
mod error;
mod name;
mod registry;
mod routes;
mod state;
mod storage;

pub use config::Config;
pub use error::Error;
pub use name::{is_tag, RepositoryName, MAX_NAME_LEN};
pub use registry::{
    Deletes, References, Registry, RegistryBuilder, RunningRegistry, DEFAULT_MANIFEST_LIMIT,
};
pub use storage::{
    BlobContent, FsStorage, MemoryStorage, RemoteBlob, S3Options, S3Storage, Storage,
    StoredManifest, UploadSession,
};
