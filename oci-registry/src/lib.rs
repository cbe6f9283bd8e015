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
//!   layout (readable by skopeo and umoci). A crash (`kill -9`) at any
//!   point leaves a store that opens with every blob whole; the temp
//!   files it left are removed when the store is next opened alone. With
//!   the `s3` feature (default), `S3Storage`, in an S3-compatible bucket
//!   with Distribution's layout, shared by any number of registry
//!   processes with no other coordination (an upload session continues
//!   on any replica, tags move with one put, the last racing push wins
//!   whole), blobs assembled with multipart uploads and checked against
//!   their digest before they are stored, and optional `307` redirects of
//!   blob `GET`s to presigned URLs.
//! - Online garbage collection ([`Registry::collect_garbage`], periodic
//!   with [`RegistryBuilder::garbage_collection`], or
//!   `ocikit-registry garbage-collect CONFIG [--dry-run]
//!   [--delete-untagged]` beside a running server): blobs no manifest
//!   references, optionally untagged manifests, with a dry run; a blob a
//!   client was told exists is kept for a grace period (see
//!   [`GcOptions`]). Idle upload sessions expire
//!   ([`RegistryBuilder::upload_purging`]). On S3 storage the collector
//!   and the replicas pushing meanwhile agree through objects in the
//!   bucket (promises, doom markers, a lease); untagged manifests and
//!   upload sessions are not collected there.
//! - A consistency check ([`fsck`], [`Registry::fsck`], or
//!   `ocikit-registry fsck CONFIG [--repair] [--json]`, exit status 1
//!   when damage is left): every manifest's references (config, layers,
//!   an index's manifests) stored and linked, every referenced blob and
//!   every manifest hashed again, tags pointing at stored manifests, the
//!   referrers index agreeing with the manifests' subjects, and orphan
//!   blobs, as typed [`Finding`]s; with [`FsckMode::Repair`], links and
//!   referrers entries rebuilt, nothing deleted.
//! - [`Config`]: Distribution's `config.yml` (`http.addr`,
//!   `storage.filesystem.rootdirectory`, `storage.s3.*`,
//!   `storage.redirect.disable`, `storage.delete.enabled`,
//!   `log.level`, `http.debug`, `http.draintimeout`, `http.tls.certificate`,
//!   `http.tls.key`, `http.http2.disabled`,
//!   `storage.maintenance.uploadpurging`, and our own `http.limits` and
//!   `storage.maintenance.garbagecollect`, `auth`, `proxy.*`) or the same
//!   keys in TOML, naming every key it ignores.
//! - Operations: one `tracing` event per request (target
//!   `ocikit_registry::access`: method, route kind, repository, status,
//!   bytes in and out, duration; never the path, query or headers); on a
//!   separate debug address ([`RegistryBuilder::debug_addr`], as
//!   Distribution's `http.debug.addr`), `/debug/health` (the storage
//!   takes a write and gives it back, else 503) and Prometheus metrics
//!   (requests by route kind, method and status, bytes received and sent
//!   by route kind, requests in flight, uploads in progress, storage
//!   size measured at most once per interval); shutdown that stops
//!   accepting, lets requests in flight finish until a deadline
//!   ([`RegistryBuilder::drain_timeout`],
//!   [`RunningRegistry::shutdown_with_deadline`]) and cuts the rest.
//! - TLS with rustls ([`RegistryBuilder::tls`]), the certificate read
//!   again by [`Registry::reload_tls`] (the binary does it on `SIGHUP`)
//!   without dropping connections; HTTP/2 by ALPN (and h2c with prior
//!   knowledge), or HTTP/1.1 only ([`Http2`]).
//! - [`Limits`] against abuse: a header read timeout (slowloris, idle
//!   keep-alive connections, TLS handshakes), a body timeout on every
//!   request body, uploads in progress per client address and a token
//!   bucket per client address (429 `TOOMANYREQUESTS` with
//!   `Retry-After`), a body cap on routes that take no body, and a cap
//!   on a blob upload's size (413 `SIZE_INVALID`, nothing of it kept);
//!   caps on open connections, in all and per client address.
//! - Access control, checked in one place before any handler: htpasswd
//!   Basic auth ([`RegistryBuilder::basic_auth`], bcrypt [`Htpasswd`]);
//!   Distribution's token auth ([`RegistryBuilder::token_auth`],
//!   [`TokenAuth`]): ES256/ES384/RS256/RS384/RS512 JWTs from an external
//!   token service, trusted by an `x5c` chain to `rootcertbundle` or a
//!   libtrust `kid`, or from the built-in one ([`TokenService`], at
//!   [`TOKEN_PATH`]); glob rules per user and repository for pull, push
//!   and delete, and anonymous pull ([`Access`]); `WWW-Authenticate`
//!   challenges with realm, service and scope; `UNAUTHORIZED` (401) and
//!   `DENIED` (403); mounts that need pull on their source, answered
//!   with an upload session otherwise. Credentials are never logged.
//! - With the `proxy` feature (default), a pull-through cache
//!   (`RegistryBuilder::pull_through` an `Upstream`, or
//!   `proxy.remoteurl`): manifests and blobs fetched from
//!   the upstream on a miss through ocikit-distribution's client (its
//!   timeouts, Basic and token auth), verified before they are stored;
//!   manifests by digest cached for good, tags checked upstream after a
//!   TTL and served from the cache while the upstream is unreachable;
//!   blobs streamed to the client while they are stored, one upstream
//!   fetch for every client missing the same blob at once; pushes and
//!   deletes refused with `UNSUPPORTED`.
//!
//! Not yet: TLS client certificates; read-only mode
//! (`storage.maintenance.readonly`); the token service's OAuth2 `POST`
//! form and refresh tokens; `auth.token.jwks`; expiry of a pull-through
//! cache's content; `delete_untagged` and upload expiry on S3 storage.
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
//! As a server, `ocikit-registry serve config.yml`; to collect garbage,
//! `ocikit-registry garbage-collect config.yml --dry-run` (safe while
//! the server runs).
//!
//! [distribution-spec]: https://github.com/opencontainers/distribution-spec/blob/main/spec.md
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]

mod api_error;
mod api_path;
mod auth;
mod config;
mod duration;
mod error;
mod fsck;
#[cfg(feature = "__fuzz")]
#[doc(hidden)]
pub mod fuzz;
mod gc;
mod health;
mod limits;
mod metrics;
mod name;
#[cfg(feature = "proxy")]
mod proxy;
mod registry;
mod reply;
mod routes;
mod serve;
mod settings;
mod state;
mod storage;

pub use auth::{
    Access, Action, AuthConfig, Htpasswd, TokenAuth, TokenService, UnknownAction, TOKEN_PATH,
};
pub use config::Config;
pub use error::Error;
pub use fsck::{fsck, Finding, FsckMode, FsckReport};
pub use gc::{
    GcOptions, GcReport, GcSchedule, RemovedBlob, RemovedManifest, RemovedUpload, UploadPurging,
    DEFAULT_GRACE,
};
pub use limits::{Limits, Rate};
pub use name::{is_tag, RepositoryName, MAX_NAME_LEN};
#[cfg(feature = "proxy")]
#[cfg_attr(docsrs, doc(cfg(feature = "proxy")))]
pub use proxy::Upstream;
pub use registry::{
    Deletes, References, Registry, RegistryBuilder, RunningRegistry, DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_MANIFEST_LIMIT, DEFAULT_STORAGE_SIZE_INTERVAL,
};
pub use serve::Http2;
pub use storage::{
    BlobContent, FsStorage, MemoryStorage, RemoteBlob, Storage, StoredBlob, StoredManifest,
    UploadSession,
};
#[cfg(feature = "s3")]
pub use storage::{S3Options, S3Storage};
