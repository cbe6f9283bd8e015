//! Garbage collection on the S3 storage with replicas over one SeaweedFS
//! bucket: a push in flight on one replica while another collects, and
//! pushes racing a collection with no grace at all.

use std::time::Duration;

use ocikit_registry::{GcOptions, Registry, RunningRegistry};
use testkit::seaweed::Seaweed;

use crate::push::{Item, Pusher, MANIFEST};
use crate::s3::options;
use crate::support::noise;

/// A replica over `weed`'s bucket under `root`, with its handle for
/// collections.
async fn replica(weed: &Seaweed, root: &str) -> (Registry, RunningRegistry, Pusher) {
    let reg = Registry::builder().s3(options(weed, root)).build().unwrap();
    let running = reg.spawn("127.0.0.1:0").await.unwrap();
    let p = Pusher::new(running.url());
    (reg, running, p)
}

fn grace(g: Duration) -> GcOptions {
    let mut o = GcOptions::new();
    o.grace = g;
    o
}

/// Replica A uploads an image's blobs and has not put its manifest yet
/// while replica B collects with a grace of two seconds: the orphan
/// uploaded before is removed, the in-flight blobs and a tagged image's
/// stay; A's manifest put then succeeds and every blob pulls verified
/// from B, also after a second collection.
async fn a_push_in_flight_on_one_replica_survives_a_collection_on_another() {
    let Some(weed) = Seaweed::start() else { return };
    let (_ra, _a, a) = replica(&weed, "inflight").await;
    let (rb, _b, b) = replica(&weed, "inflight").await;
    let kept = a.image("app", Some("v1"), 1, &[3000, 5000], &[]).await;
    let orphan = a.blob("app", &noise(4000, 99)).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    // The push in flight: blobs stored, manifest not put yet.
    let config = a.blob("app", b"{\"seed\":2}").await;
    let layer = a.blob("app", &noise(6000, 2)).await;
    let report = rb
        .collect_garbage(grace(Duration::from_secs(2)))
        .await
        .unwrap();
    let removed: Vec<_> = report.blobs.iter().map(|b| b.digest.clone()).collect();
    assert_eq!(removed, std::slice::from_ref(&orphan.digest));
    assert_eq!(report.kept_in_grace, 2, "{report:?}");
    assert_eq!(b.pull("app", &orphan.digest).await, None);
    let doc = Pusher::manifest_doc(&config, std::slice::from_ref(&layer), None);
    let (status, manifest) = a.put("app", Some("v2"), MANIFEST, &doc).await;
    assert_eq!(status, 201);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let again = rb
        .collect_garbage(grace(Duration::from_secs(2)))
        .await
        .unwrap();
    assert!(again.blobs.is_empty(), "{again:?}");
    for d in kept
        .digests()
        .iter()
        .chain([&config.digest, &layer.digest, &manifest.digest])
    {
        assert!(b.pull("app", d).await.is_some(), "{d} was collected");
    }
}

/// Twenty blobs left unreferenced long enough to be garbage; while
/// replica B collects with a grace of zero, replica A puts manifests
/// naming them one by one. Each put either succeeds (the blobs it names
/// were promised before the collector checked them) or is refused with
/// `MANIFEST_BLOB_UNKNOWN` (they were removed first): never a stored
/// manifest whose blobs are gone.
async fn manifests_racing_a_collection_without_grace_never_lose_blobs() {
    let Some(weed) = Seaweed::start() else { return };
    let (_ra, _a, a) = replica(&weed, "race").await;
    let (rb, _b, b) = replica(&weed, "race").await;
    let config = a.blob("race", b"{\"race\":true}").await;
    let mut layers: Vec<Item> = Vec::new();
    for i in 0..20 {
        layers.push(a.blob("race", &noise(2000, 500 + i)).await);
    }
    // Promises older than the run's start, with a grace of zero, promise
    // nothing: each layer stands on the race below alone.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let config_doc = config.clone();
    let pushes = tokio::spawn(async move {
        let mut stored = Vec::new();
        for (i, layer) in layers.iter().enumerate() {
            let doc = Pusher::manifest_doc(&config_doc, std::slice::from_ref(layer), None);
            let (status, m) = a.put("race", Some(&format!("t{i}")), MANIFEST, &doc).await;
            assert!(status == 201 || status == 400, "status {status}");
            if status == 201 {
                stored.push((m, layer.clone()));
            }
        }
        stored
    });
    let report = rb.collect_garbage(grace(Duration::ZERO)).await.unwrap();
    let stored = pushes.await.unwrap();
    for (m, layer) in &stored {
        for d in [&m.digest, &layer.digest, &config.digest] {
            assert!(
                b.pull("race", d).await.is_some(),
                "{d} of stored manifest {} was collected ({report:?})",
                m.digest
            );
        }
    }
    // What no stored manifest names is gone after a second run.
    let again = rb.collect_garbage(grace(Duration::ZERO)).await.unwrap();
    let named = stored.len();
    assert!(
        report.blobs.len() + again.blobs.len() + named >= 20,
        "{named} stored, {} + {} removed",
        report.blobs.len(),
        again.blobs.len()
    );
}

/// Two replicas collecting at once: one holds the lease and works, the
/// other does nothing; the lease is free again after.
async fn one_collector_at_a_time_holds_the_lease() {
    let Some(weed) = Seaweed::start() else { return };
    let (ra, _a, a) = replica(&weed, "lease").await;
    let (rb, _b, _) = replica(&weed, "lease").await;
    for i in 0..10 {
        a.blob("lease", &noise(1000, 700 + i)).await;
    }
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (x, y) = tokio::join!(
        ra.collect_garbage(grace(Duration::ZERO)),
        rb.collect_garbage(grace(Duration::ZERO))
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.blobs.len() + y.blobs.len(), 10, "{x:?} {y:?}");
    a.blob("lease", &noise(1000, 800)).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let z = rb.collect_garbage(grace(Duration::ZERO)).await.unwrap();
    assert_eq!(z.blobs.len(), 1, "the lease was not given back: {z:?}");
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![;
    async a_push_in_flight_on_one_replica_survives_a_collection_on_another,
    manifests_racing_a_collection_without_grace_never_lose_blobs,
    one_collector_at_a_time_holds_the_lease,
];
