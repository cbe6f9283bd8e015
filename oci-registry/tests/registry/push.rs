//! Raw pushes for the garbage collection suites: blobs, image manifests,
//! indexes and referrers, over plain HTTP, so each test sees every status.

use ocikit_types::Digest;
use serde_json::json;

use crate::support::noise;

pub(crate) const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A blob or manifest as a descriptor's digest and size.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Item {
    pub(crate) digest: Digest,
    pub(crate) size: u64,
}

/// An image pushed: its manifest, config and layers.
#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub(crate) manifest: Item,
    pub(crate) config: Item,
    pub(crate) layers: Vec<Item>,
}

impl Image {
    /// The manifest, config and layers.
    pub(crate) fn digests(&self) -> Vec<Digest> {
        let mut out = vec![self.manifest.digest.clone(), self.config.digest.clone()];
        out.extend(self.layers.iter().map(|l| l.digest.clone()));
        out
    }
}

/// Pushes to the registry at `base` (`http://host:port`).
#[derive(Debug, Clone)]
pub(crate) struct Pusher {
    pub(crate) h: reqwest::Client,
    pub(crate) base: String,
}

impl Pusher {
    pub(crate) fn new(base: impl Into<String>) -> Pusher {
        Pusher {
            h: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            base: base.into(),
        }
    }

    /// Pushes `bytes` in one request; panics unless 201.
    pub(crate) async fn blob(&self, repo: &str, bytes: &[u8]) -> Item {
        let digest = Digest::sha256(bytes);
        let resp = self
            .h
            .post(format!(
                "{}/v2/{repo}/blobs/uploads/?digest={digest}",
                self.base
            ))
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        let resp = if resp.status() == 202 {
            // docker-registry ignores a monolithic POST's body: the
            // bytes go with the PUT that closes the session.
            let location = resp.headers()["location"].to_str().unwrap();
            let url = if location.starts_with("http") {
                location.to_owned()
            } else {
                format!("{}{location}", self.base)
            };
            let sep = if url.contains('?') { '&' } else { '?' };
            self.h
                .put(format!("{url}{sep}digest={digest}"))
                .body(bytes.to_vec())
                .send()
                .await
                .unwrap()
        } else {
            resp
        };
        assert_eq!(resp.status(), 201, "push of {digest} to {repo}");
        Item {
            digest,
            size: bytes.len() as u64,
        }
    }

    /// The status of `HEAD` on a blob.
    pub(crate) async fn head(&self, repo: &str, digest: &Digest) -> u16 {
        self.h
            .head(format!("{}/v2/{repo}/blobs/{digest}", self.base))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Puts a manifest document under `reference` (a tag, or `None` for
    /// its digest); returns the status and the manifest.
    pub(crate) async fn put(
        &self,
        repo: &str,
        tag: Option<&str>,
        media_type: &str,
        doc: &serde_json::Value,
    ) -> (u16, Item) {
        let bytes = serde_json::to_vec(doc).unwrap();
        let item = Item {
            digest: Digest::sha256(&bytes),
            size: bytes.len() as u64,
        };
        let reference = tag.map_or(item.digest.to_string(), str::to_owned);
        let resp = self
            .h
            .put(format!("{}/v2/{repo}/manifests/{reference}", self.base))
            .header("content-type", media_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), item)
    }

    /// An image manifest document over `config` and `layers`.
    pub(crate) fn manifest_doc(
        config: &Item,
        layers: &[Item],
        subject: Option<&Item>,
    ) -> serde_json::Value {
        let mut doc = json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.digest.to_string(), "size": config.size},
            "layers": layers.iter().map(|l| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": l.digest.to_string(), "size": l.size})).collect::<Vec<_>>(),
        });
        if let Some(s) = subject {
            doc["subject"] =
                json!({"mediaType": MANIFEST, "digest": s.digest.to_string(), "size": s.size});
        }
        doc
    }

    /// Pushes an image of `layers` (sizes) made from `seed`, plus `shared`
    /// layers already pushed, tagged `tag` (or by digest); panics unless
    /// every push succeeds.
    pub(crate) async fn image(
        &self,
        repo: &str,
        tag: Option<&str>,
        seed: u64,
        layers: &[usize],
        shared: &[Item],
    ) -> Image {
        let config = self
            .blob(repo, format!("{{\"seed\":{seed}}}").as_bytes())
            .await;
        let mut items = Vec::new();
        for (i, size) in layers.iter().enumerate() {
            items.push(self.blob(repo, &noise(*size, seed * 100 + i as u64)).await);
        }
        items.extend(shared.iter().cloned());
        let doc = Pusher::manifest_doc(&config, &items, None);
        let (status, manifest) = self.put(repo, tag, MANIFEST, &doc).await;
        assert_eq!(status, 201, "manifest of image {seed} in {repo}");
        Image {
            manifest,
            config,
            layers: items,
        }
    }

    /// Pushes an index of `children` (manifests of `repo`).
    pub(crate) async fn index(&self, repo: &str, tag: Option<&str>, children: &[Item]) -> Item {
        let doc = json!({
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": children.iter().map(|c| json!({"mediaType": MANIFEST, "digest": c.digest.to_string(), "size": c.size, "platform": {"os": "linux", "architecture": "amd64"}})).collect::<Vec<_>>(),
        });
        let (status, item) = self.put(repo, tag, INDEX, &doc).await;
        assert_eq!(status, 201, "index in {repo}");
        item
    }

    /// Deletes a manifest by digest; panics unless 202.
    pub(crate) async fn delete_manifest(&self, repo: &str, digest: &Digest) {
        let resp = self
            .h
            .delete(format!("{}/v2/{repo}/manifests/{digest}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);
    }

    /// The bytes of a blob, checked against its digest; `None` on 404.
    pub(crate) async fn pull(&self, repo: &str, digest: &Digest) -> Option<Vec<u8>> {
        let resp = self
            .h
            .get(format!("{}/v2/{repo}/blobs/{digest}", self.base))
            .send()
            .await
            .unwrap();
        if resp.status() == 404 {
            return None;
        }
        assert_eq!(resp.status(), 200);
        let bytes = resp.bytes().await.unwrap().to_vec();
        assert_eq!(&Digest::sha256(&bytes), digest);
        Some(bytes)
    }
}

/// Sets the modification time (the promise time) of every file named
/// `<hex>` of `digest` under the filesystem store `root` to two hours
/// ago, as if the blob had been stored and left then.
pub(crate) fn age_blob(root: &std::path::Path, digest: &Digest) {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    let shared = root
        .join("blobs")
        .join(digest.algorithm())
        .join(digest.encoded());
    std::fs::File::open(shared)
        .unwrap()
        .set_modified(old)
        .unwrap();
}
