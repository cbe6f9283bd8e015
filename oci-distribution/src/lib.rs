//! An async client of the [OCI distribution specification]: pull, push,
//! mount, referrers, tags and copies between registries and image layouts.
//!
//! Built on tokio and reqwest (rustls by default). Every answer is checked:
//! manifests against their digests and a size cap, blobs against their
//! descriptors while they stream to disk, so a lying registry ends in a
//! typed error and never in a corrupt layout.
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `rustls` | yes | TLS through rustls and the webpki roots |
//! | `native-tls` | no | TLS through the platform library |
//! | `blocking` | no | a runtime for callers without one |
//!
//! # Example
//!
//! ```no_run
//! use ocikit_distribution::{ClientBuilder, Platforms};
//! use ocikit_types::{Platform, Reference};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = ClientBuilder::new().insecure_http_host("localhost:5000").build()?;
//! let image: Reference = "docker.io/library/busybox:latest".parse()?;
//! // The layout is created once the registry has sent the manifest.
//! let (layout, desc) = client
//!     .pull_image_to(&image, "/tmp/busybox-layout", &Platforms::Only(Platform::host()))
//!     .await?;
//! layout.tag("latest", desc.clone())?;
//! client.push_image(&layout, &desc, &"localhost:5000/busybox:1".parse()?).await?;
//! # Ok(())
//! # }
//! # fn main() { drop(run()); }
//! ```
//!
//! # Timeouts
//!
//! Every setting is on [`ClientBuilder`]; a timeout ends in
//! [`Error::Timeout`] (see [`Error::is_timeout`]).
//!
//! | what | default | setter |
//! |---|---|---|
//! | establishing a connection (TCP and TLS) | 30 s | [`ClientBuilder::connect_timeout`] |
//! | a blob download without progress (answer or next bytes); resumed with `Range` | 60 s | [`ClientBuilder::progress_timeout`] |
//! | a whole small request: manifest, token, tag list, existence check | 60 s | [`ClientBuilder::request_timeout`] |
//! | a credential helper's answer (run on a blocking thread, then killed) | 30 s | [`CredentialFiles::helper_timeout`] |
//! | any whole request, blobs included | none | [`ClientBuilder::timeout`] |
//!
//! Blob uploads have no limit of their own beyond the connection's: a
//! large blob takes as long as the link needs.
//!
//! # Security
//! - Plain HTTP only for hosts marked with
//!   [`ClientBuilder::insecure_http_host`]. Credentials go to a plain-HTTP
//!   token realm only when its host is marked too, or when the registry
//!   itself is reached over plain HTTP.
//! - Credentials are never logged or printed (their `Debug` is redacted)
//!   and are not sent along a redirect to another host.
//! - Bearer tokens are asked for with the narrowest scopes an operation
//!   needs (`pull` to read, `pull,push` to write, plus `pull` on the source
//!   of a cross-repository mount), cached per registry and scope until
//!   shortly before they expire, and fetched one at a time.
//! - A registry that refuses the credentials gives [`Error::Auth`]; an
//!   untrusted certificate gives [`Error::Transport`] at once, never a
//!   retry.
//! - Bodies are bounded: manifests by the configured cap, error bodies and
//!   token responses by 1 MiB, blobs by their descriptor's size.
//!
//! [OCI distribution specification]: https://github.com/opencontainers/distribution-spec
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]

mod artifact;
mod auth;
mod blob;
#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;
mod builder;
mod client;
mod config;
mod copy;
mod error;
#[cfg(feature = "__fuzz")]
#[doc(hidden)]
pub mod fuzz;
mod image_config;
mod listing;
mod login;
mod manifest;
mod retry;
mod transport;

pub use artifact::ArtifactFile;
pub use auth::Credentials;
pub use blob::BlobStream;
pub use builder::{ClientBuilder, Progress, ProgressFn};
pub use client::Client;
pub use config::CredentialFiles;
pub use copy::Platforms;
pub use error::{BoxError, Error};
pub use image_config::PulledConfig;
pub use manifest::{PulledManifest, PushedManifest};
