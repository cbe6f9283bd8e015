//! A blocking client, for programs without an async runtime.

use ocikit_image::Layout;
use ocikit_types::{Descriptor, Digest, ImageIndex, Platform, Reference};

use crate::{Client, Error, Platforms, PulledConfig, PulledManifest};

/// The [`Client`] behind a private single-threaded tokio runtime: each
/// method blocks until the operation completes.
///
/// Do not call it from inside an async runtime (tokio panics when a
/// runtime blocks inside another); use [`Client`] there.
///
/// ```no_run
/// use ocikit_distribution::{blocking::BlockingClient, ClientBuilder, Platforms};
/// use ocikit_image::Layout;
/// let client = BlockingClient::new(ClientBuilder::new().build()?)?;
/// let layout = Layout::create("/tmp/alpine")?;
/// let desc = client.pull_image(&"alpine:3".parse()?, &layout, &Platforms::All)?;
/// layout.tag("3", desc)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct BlockingClient {
    runtime: tokio::runtime::Runtime,
    client: Client,
}

impl BlockingClient {
    /// Wraps `client`.
    ///
    /// # Errors
    /// [`Error::Config`] when the runtime cannot start.
    pub fn new(client: Client) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Config {
                reason: "cannot start a runtime".into(),
                source: Some(e.into()),
            })?;
        Ok(BlockingClient { runtime, client })
    }

    /// The async client inside.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// See [`Client::pull_manifest`].
    ///
    /// # Errors
    /// As the async method.
    pub fn pull_manifest(&self, r: &Reference) -> Result<PulledManifest, Error> {
        self.runtime.block_on(self.client.pull_manifest(r))
    }

    /// See [`Client::pull_config`].
    ///
    /// # Errors
    /// As the async method.
    pub fn pull_config(&self, r: &Reference, platform: &Platform) -> Result<PulledConfig, Error> {
        self.runtime.block_on(self.client.pull_config(r, platform))
    }

    /// See [`Client::pull_image`].
    ///
    /// # Errors
    /// As the async method.
    pub fn pull_image(
        &self,
        r: &Reference,
        layout: &Layout,
        platforms: &Platforms,
    ) -> Result<Descriptor, Error> {
        self.runtime
            .block_on(self.client.pull_image(r, layout, platforms))
    }

    /// See [`Client::push_image`].
    ///
    /// # Errors
    /// As the async method.
    pub fn push_image(
        &self,
        layout: &Layout,
        desc: &Descriptor,
        r: &Reference,
    ) -> Result<Digest, Error> {
        self.runtime
            .block_on(self.client.push_image(layout, desc, r))
    }

    /// See [`Client::copy_image`].
    ///
    /// # Errors
    /// As the async method.
    pub fn copy_image(
        &self,
        src: &Reference,
        dst: &Reference,
        platforms: &Platforms,
    ) -> Result<Digest, Error> {
        self.runtime
            .block_on(self.client.copy_image(src, dst, platforms))
    }

    /// See [`Client::tags`].
    ///
    /// # Errors
    /// As the async method.
    pub fn tags(&self, r: &Reference, page_size: Option<u32>) -> Result<Vec<String>, Error> {
        self.runtime.block_on(self.client.tags(r, page_size))
    }

    /// See [`Client::referrers`].
    ///
    /// # Errors
    /// As the async method.
    pub fn referrers(
        &self,
        r: &Reference,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<ImageIndex, Error> {
        self.runtime
            .block_on(self.client.referrers(r, subject, artifact_type))
    }
}
