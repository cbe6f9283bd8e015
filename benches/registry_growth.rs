//! The cost of growth of one repository in the registry server: a tag
//! list, a referrers query and a garbage collection pass with 100, 1,000
//! and 10,000 manifests. Prints a markdown table; not a test.
//!
//! ```text
//! cargo bench --bench registry_growth --features registry,distribution
//! ```
//!
//! Each size gets a fresh embedded registry with filesystem storage on
//! tmpfs (`/dev/shm`, so the disk is not what is measured), filled over
//! HTTP by ocikit's client: one config and one layer blob, and N image
//! manifests naming them, each tagged, each after the first a referrer
//! (`subject`) of the first, so the referrers query lists N - 1. Timed:
//! the full tag list (one request, no paging), the referrers query of the
//! first manifest, and a collection with the default grace (it marks
//! every manifest and removes nothing), each the median of [`RUNS`].
//!
//! Set `OCIKIT_GROWTH_SIZES` (comma-separated) to measure other sizes.

use std::time::{Duration, Instant};

use ocikit::distribution::{Client, ClientBuilder};
use ocikit::registry::{GcOptions, Registry};
use ocikit::types::{Digest, MediaType, Reference};

const RUNS: usize = 5;
const WORK: &str = "/dev/shm/ocikit-bench-growth";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// A manifest over `config` and `layer`, told apart by `i`, referring to
/// `subject` when given.
fn manifest(
    i: usize,
    config: &(Digest, u64),
    layer: &(Digest, u64),
    subject: Option<&(Digest, u64)>,
) -> Vec<u8> {
    let mut doc = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.0.to_string(), "size": config.1},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.0.to_string(), "size": layer.1}],
        "annotations": {"n": i.to_string()},
    });
    if let Some(s) = subject {
        doc["subject"] = serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": s.0.to_string(), "size": s.1});
    }
    serde_json::to_vec(&doc).unwrap()
}

async fn push_blob(client: &Client, r: &Reference, bytes: &'static [u8]) -> (Digest, u64) {
    let d = client
        .push_blob_from_reader(r, MediaType::ImageLayer, bytes)
        .await
        .unwrap();
    (d.digest, d.size)
}

struct Row {
    n: usize,
    fill: Duration,
    tags: Duration,
    referrers: Duration,
    gc: Duration,
}

async fn measure(n: usize) -> Row {
    let dir = format!("{WORK}/{n}");
    let _ = std::fs::remove_dir_all(&dir);
    let reg = Registry::builder().filesystem(&dir).build().unwrap();
    let running = reg.spawn("127.0.0.1:0").await.unwrap();
    let client = ClientBuilder::new()
        .insecure_http_host(&running.host())
        .build()
        .unwrap();
    let repo: Reference = format!("{}/grow/app:t0", running.host()).parse().unwrap();
    let start = Instant::now();
    let config = push_blob(
        &client,
        &repo,
        b"{\"architecture\":\"amd64\",\"os\":\"linux\"}",
    )
    .await;
    let layer = push_blob(&client, &repo, b"a layer shared by every manifest").await;
    let mut first = None;
    for i in 0..n {
        let bytes = manifest(i, &config, &layer, first.as_ref());
        let r: Reference = format!("{}/grow/app:t{i}", running.host()).parse().unwrap();
        let mt = MediaType::ImageManifest;
        client.push_manifest(&r, &bytes, &mt).await.unwrap();
        if first.is_none() {
            first = Some((Digest::sha256(&bytes), bytes.len() as u64));
        }
    }
    let fill = start.elapsed();
    let subject = first.unwrap().0;
    let (mut tags, mut referrers, mut gc) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let t = Instant::now();
        let listed = client.tags(&repo, None).await.unwrap();
        tags.push(t.elapsed());
        assert_eq!(listed.len(), n);
        let t = Instant::now();
        let index = client.referrers(&repo, &subject, None).await.unwrap();
        referrers.push(t.elapsed());
        assert_eq!(index.manifests.len(), n - 1);
        let t = Instant::now();
        let report = reg.collect_garbage(GcOptions::new()).await.unwrap();
        gc.push(t.elapsed());
        assert!(report.blobs.is_empty());
    }
    Row {
        n,
        fill,
        tags: median(tags),
        referrers: median(referrers),
        gc: median(gc),
    }
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::var("OCIKIT_GROWTH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100, 1000, 10_000]);
    println!("| manifests | fill (s) | tag list (ms) | referrers (ms) | GC pass (ms) |");
    println!("|---:|---:|---:|---:|---:|");
    for n in sizes {
        let r = measure(n).await;
        println!(
            "| {} | {:.1} | {} | {} | {} |",
            r.n,
            r.fill.as_secs_f64(),
            ms(r.tags),
            ms(r.referrers),
            ms(r.gc)
        );
    }
    let _ = std::fs::remove_dir_all(WORK);
}
