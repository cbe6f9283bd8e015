//! Garbage collection: what goes and what stays, dry runs, untagged
//! manifests, the grace period, pushes racing the collector, and the
//! same choices as docker-registry's `garbage-collect`.

use std::collections::BTreeSet;
use std::time::Duration;

use ocikit_registry::{GcOptions, GcReport, Registry, RunningRegistry};
use ocikit_types::Digest;

use crate::push::{age_blob, Image, Item, Pusher, MANIFEST};
use crate::support::noise;

fn now_options() -> GcOptions {
    let mut o = GcOptions::new();
    o.grace = Duration::ZERO;
    o
}

fn removed(r: &GcReport) -> BTreeSet<Digest> {
    r.blobs.iter().map(|b| b.digest.clone()).collect()
}

async fn start(dir: Option<&std::path::Path>) -> (Registry, RunningRegistry, Pusher) {
    let mut b = Registry::builder();
    match dir {
        Some(d) => b.filesystem(d),
        None => b.in_memory(),
    };
    let reg = b.build().unwrap();
    let running = reg.spawn("127.0.0.1:0").await.unwrap();
    let p = Pusher::new(running.url());
    (reg, running, p)
}

/// Two repositories sharing a layer, a layer mounted where no manifest
/// names it, an orphan blob and a deleted image.
struct Scene {
    a: Image,
    b: Image,
    shared: Item,
    garbage: BTreeSet<Digest>,
}

async fn scene(p: &Pusher) -> Scene {
    let shared = p.blob("a", &noise(50_000, 1)).await;
    let a = p
        .image("a", Some("v1"), 1, &[40_000], std::slice::from_ref(&shared))
        .await;
    for d in [&shared.digest, &a.layers[0].digest] {
        let resp =
            p.h.post(format!("{}/v2/b/blobs/uploads/?mount={d}&from=a", p.base))
                .send()
                .await
                .unwrap();
        assert_eq!(resp.status(), 201);
    }
    let b = p
        .image("b", Some("v1"), 2, &[30_000], std::slice::from_ref(&shared))
        .await;
    let orphan = p.blob("a", &noise(10_000, 9)).await;
    let old = p
        .image(
            "b",
            Some("old"),
            3,
            &[20_000],
            std::slice::from_ref(&shared),
        )
        .await;
    p.delete_manifest("b", &old.manifest.digest).await;
    let mut garbage: BTreeSet<Digest> = old.digests().into_iter().collect();
    garbage.remove(&shared.digest);
    garbage.insert(orphan.digest);
    Scene {
        a,
        b,
        shared,
        garbage,
    }
}

async fn collection_keeps_what_manifests_reference(dir: Option<&std::path::Path>) {
    let (reg, running, p) = start(dir).await;
    let s = scene(&p).await;
    let report = reg.collect_garbage(now_options()).await.unwrap();
    assert_eq!(removed(&report), s.garbage);
    assert_eq!(
        report.bytes_freed,
        report.blobs.iter().map(|b| b.size).sum::<u64>()
    );
    for (repo, image) in [("a", &s.a), ("b", &s.b)] {
        for d in image.digests().iter().skip(1) {
            assert!(p.pull(repo, d).await.is_some(), "{d} of {repo}");
        }
    }
    // Shared, and mounted into b where only a's manifest names it.
    assert!(p.pull("b", &s.shared.digest).await.is_some());
    assert!(p.pull("b", &s.a.layers[0].digest).await.is_some());
    for d in &s.garbage {
        assert!(p.pull("a", d).await.is_none() && p.pull("b", d).await.is_none());
    }
    let again = reg.collect_garbage(now_options()).await.unwrap();
    assert!(again.blobs.is_empty(), "{again:?}");
    if let Some(dir) = dir {
        let left = std::fs::read_dir(dir.join("blobs/sha256")).unwrap().count();
        // a: config, layer, manifest; b: config, layer, manifest; shared.
        assert_eq!(left, 7);
    }
    running.shutdown().await;
}

async fn unreferenced_blobs_go_referenced_and_shared_ones_stay_on_a_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    collection_keeps_what_manifests_reference(Some(dir.path())).await;
}

async fn unreferenced_blobs_go_referenced_and_shared_ones_stay_in_memory() {
    collection_keeps_what_manifests_reference(None).await;
}

async fn a_dry_run_lists_what_a_run_removes_and_removes_nothing() {
    for dir in [Some(tempfile::tempdir().unwrap()), None] {
        let (reg, running, p) = start(dir.as_ref().map(|d| d.path())).await;
        let s = scene(&p).await;
        let mut options = now_options();
        options.dry_run = true;
        let dry = reg.collect_garbage(options).await.unwrap();
        assert!(dry.dry_run);
        assert_eq!(removed(&dry), s.garbage);
        for d in &s.garbage {
            let found = reg.storage().has_any_blob(d).unwrap();
            assert!(found, "{d} is still stored after the dry run");
        }
        let real = reg.collect_garbage(now_options()).await.unwrap();
        assert_eq!((real.blobs, real.bytes_freed), (dry.blobs, dry.bytes_freed));
        running.shutdown().await;
    }
}

async fn referrers_api(p: &Pusher, repo: &str, subject: &Digest) -> Vec<String> {
    let v: serde_json::Value =
        p.h.get(format!("{}/v2/{repo}/referrers/{subject}", p.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_owned())
        .collect()
}

async fn delete_untagged_keeps_what_tags_reach_and_their_referrers() {
    for dir in [Some(tempfile::tempdir().unwrap()), None] {
        let (reg, running, p) = start(dir.as_ref().map(|d| d.path())).await;
        let tagged = p.image("u", Some("v1"), 10, &[1000], &[]).await;
        let c1 = p.image("u", None, 11, &[1000], &[]).await;
        let c2 = p.image("u", None, 12, &[1000], &[]).await;
        p.index(
            "u",
            Some("multi"),
            &[c1.manifest.clone(), c2.manifest.clone()],
        )
        .await;
        let untagged = p.image("u", None, 13, &[1000], &[]).await;
        let config = p.blob("u", b"{\"sig\":1}").await;
        let doc = Pusher::manifest_doc(&config, &[], Some(&tagged.manifest));
        let (status, kept_ref) = p.put("u", None, MANIFEST, &doc).await;
        assert_eq!(status, 201);
        let config2 = p.blob("u", b"{\"sig\":2}").await;
        let doc = Pusher::manifest_doc(&config2, &[], Some(&untagged.manifest));
        let (status, doomed_ref) = p.put("u", None, MANIFEST, &doc).await;
        assert_eq!(status, 201);

        let plain = reg.collect_garbage(now_options()).await.unwrap();
        assert!(
            plain.blobs.is_empty() && plain.manifests.is_empty(),
            "{plain:?}"
        );

        let mut options = now_options();
        options.delete_untagged = true;
        let report = reg.collect_garbage(options).await.unwrap();
        let gone: BTreeSet<Digest> = report.manifests.iter().map(|m| m.digest.clone()).collect();
        let want: BTreeSet<Digest> =
            [untagged.manifest.digest.clone(), doomed_ref.digest.clone()].into();
        assert_eq!(gone, want);
        let mut blobs: BTreeSet<Digest> = untagged.digests().into_iter().collect();
        blobs.extend([doomed_ref.digest.clone(), config2.digest.clone()]);
        assert_eq!(removed(&report), blobs);
        for m in [&tagged.manifest, &c1.manifest, &c2.manifest, &kept_ref] {
            let status =
                p.h.get(format!("{}/v2/u/manifests/{}", p.base, m.digest))
                    .send()
                    .await
                    .unwrap()
                    .status();
            assert_eq!(status, 200, "{} stays", m.digest);
        }
        assert_eq!(
            referrers_api(&p, "u", &tagged.manifest.digest).await,
            [kept_ref.digest.to_string()]
        );
        assert!(referrers_api(&p, "u", &untagged.manifest.digest)
            .await
            .is_empty());
        running.shutdown().await;
    }
}

async fn fresh_unreferenced_blobs_stay_within_the_grace_period() {
    let (reg, running, p) = start(None).await;
    let orphan = p.blob("r", b"pushed, its manifest not yet").await;
    let report = reg.collect_garbage(GcOptions::new()).await.unwrap();
    assert!(report.blobs.is_empty());
    assert_eq!(report.kept_in_grace, 1);
    assert!(p.pull("r", &orphan.digest).await.is_some());
    running.shutdown().await;
}

/// Old unreferenced blobs; half of them a client finds with `HEAD` and
/// names in a manifest while the collector runs, the other half nobody
/// wants. Every manifest put succeeds (a client told 404 pushes again),
/// and the unwanted blobs go.
async fn a_push_racing_the_collector_never_loses_a_promised_blob() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, running, p) = start(Some(dir.path())).await;
    let (mut swept, mut promised, mut repushed) = (0, 0, 0);
    for round in 0..25u64 {
        let mut orphans = Vec::new();
        for i in 0..8 {
            let o = p.blob("r", &noise(4096, round * 100 + i)).await;
            age_blob(dir.path(), &o.digest);
            orphans.push((i, o));
        }
        let collector = async {
            let mut n = 0;
            for _ in 0..3 {
                n += reg
                    .collect_garbage(GcOptions::new())
                    .await
                    .unwrap()
                    .blobs
                    .len();
            }
            n
        };
        let pushes = futures_util::future::join_all(
            orphans.iter().filter(|(i, _)| i % 2 == 0).map(|(i, o)| {
                let p = p.clone();
                async move {
                    let config = p
                        .blob("r", format!("{{\"round\":{round},\"i\":{i}}}").as_bytes())
                        .await;
                    let head = p.head("r", &o.digest).await;
                    if head == 404 {
                        p.blob("r", &noise(4096, round * 100 + i)).await;
                    }
                    let doc = Pusher::manifest_doc(&config, std::slice::from_ref(o), None);
                    let (status, _) = p
                        .put("r", Some(&format!("t{round}-{i}")), MANIFEST, &doc)
                        .await;
                    assert_eq!(
                        status, 201,
                        "manifest of round {round}, blob {i}, after HEAD {head}"
                    );
                    head
                }
            }),
        );
        let (n, heads) = tokio::join!(collector, pushes);
        swept += n;
        promised += heads.iter().filter(|h| **h == 200).count();
        repushed += heads.iter().filter(|h| **h == 404).count();
        for (i, o) in &orphans {
            let stored = p.pull("r", &o.digest).await.is_some();
            assert_eq!(stored, i % 2 == 0, "round {round}, blob {i}");
        }
    }
    eprintln!("swept {swept} blobs; {promised} pushes promised by HEAD, {repushed} pushed again");
    assert!(swept >= 25 * 4, "the unwanted blobs went");
    running.shutdown().await;
}

/// The same store pushed to docker-registry and to ours: both collectors
/// choose the same blobs.
async fn the_same_blobs_go_as_with_docker_registry_garbage_collect() {
    let Some(dist) = testkit::registry::Registry::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (reg, running, ours) = start(Some(dir.path())).await;
    let theirs = Pusher::new(format!("http://{}", dist.addr));
    let mut garbage = Vec::new();
    for p in [&theirs, &ours] {
        garbage.push(scene(p).await.garbage);
    }
    assert_eq!(garbage[0], garbage[1]);
    let out = std::process::Command::new("docker-registry")
        .arg("garbage-collect")
        .arg(dist.dir().join("config.yml"))
        .arg("--dry-run")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let chosen: BTreeSet<Digest> = text
        .lines()
        .filter_map(|l| l.strip_prefix("blob eligible for deletion: "))
        .map(|d| d.trim().parse().unwrap())
        .collect();
    let mut options = now_options();
    options.dry_run = true;
    let report = reg.collect_garbage(options).await.unwrap();
    assert_eq!(removed(&report), chosen, "docker-registry said:\n{text}");
    assert_eq!(chosen, garbage[0]);
    running.shutdown().await;
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![; async
    unreferenced_blobs_go_referenced_and_shared_ones_stay_on_a_filesystem,
    unreferenced_blobs_go_referenced_and_shared_ones_stay_in_memory,
    a_dry_run_lists_what_a_run_removes_and_removes_nothing,
    delete_untagged_keeps_what_tags_reach_and_their_referrers,
    fresh_unreferenced_blobs_stay_within_the_grace_period,
    a_push_racing_the_collector_never_loses_a_promised_blob,
    the_same_blobs_go_as_with_docker_registry_garbage_collect,
];
