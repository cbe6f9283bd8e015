//! `ocikit-registry fsck`: images pushed through the server, the store
//! damaged by hand (a blob's bytes changed, a layer deleted, a tag left
//! pointing at nothing, a link and a referrers entry removed), each
//! reported by the binary with exit status 1, the rebuildable ones
//! repaired; the same on S3 storage (SeaweedFS).

use std::path::Path;
use std::process::{Command, Output};

use ocikit_registry::{Finding, FsckMode, FsckReport, Registry};
use ocikit_types::Digest;

use crate::push::{Image, Pusher, MANIFEST};
use crate::support::noise;

const BIN: &str = env!("CARGO_BIN_EXE_ocikit-registry");

fn fsck(config: &Path, flags: &[&str]) -> (Option<i32>, String) {
    let out: Output = Command::new(BIN)
        .arg("fsck")
        .arg(config)
        .args(flags)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code(), format!("{stdout}{stderr}"))
}

fn json_report(config: &Path, flags: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(flags);
    let out = Command::new(BIN)
        .arg("fsck")
        .arg(config)
        .args(&all)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

/// The findings of kind `kind` in a JSON report.
fn of_kind<'a>(v: &'a serde_json::Value, key: &str, kind: &str) -> Vec<&'a serde_json::Value> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind)
        .collect()
}

/// Images in two repositories, one with a referrer.
struct Pushed {
    a: Image,
    b: Image,
    c: Image,
    referrer: Digest,
}

async fn push(p: &Pusher) -> Pushed {
    let a = p.image("a", Some("v1"), 1, &[30_000, 20_000], &[]).await;
    let b = p.image("b", Some("v1"), 2, &[10_000], &[]).await;
    let c = p.image("b", Some("v2"), 3, &[15_000], &[]).await;
    let config = p.blob("a", &noise(100, 77)).await;
    let doc = Pusher::manifest_doc(&config, &[], Some(&a.manifest));
    // Tagged: on S3 the check reaches manifests through tags and indexes
    // only, as S3Storage lists no manifests yet.
    let (status, referrer) = p.put("a", Some("sig"), MANIFEST, &doc).await;
    assert_eq!(status, 201);
    Pushed {
        a,
        b,
        c,
        referrer: referrer.digest,
    }
}

fn blob_path(root: &Path, d: &Digest) -> std::path::PathBuf {
    root.join("blobs").join(d.algorithm()).join(d.encoded())
}

fn link_path(root: &Path, repo: &str, d: &Digest) -> std::path::PathBuf {
    root.join("repositories")
        .join(repo)
        .join("_layout/blobs")
        .join(d.algorithm())
        .join(d.encoded())
}

async fn damage_on_a_filesystem_is_reported_and_links_and_referrers_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\n",
            root.display()
        ),
    )
    .unwrap();
    let reg = Registry::builder().filesystem(&root).build().unwrap();
    let running = reg.spawn("127.0.0.1:0").await.unwrap();
    let p = Pusher::new(running.url());
    let s = push(&p).await;
    let orphan = p.blob("b", &noise(5_000, 99)).await;

    let (code, out) = fsck(&config, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("0 damaged"), "{out}");
    assert!(
        out.contains(&format!("note: blob {} (5000 bytes)", orphan.digest)),
        "{out}"
    );

    // The bytes of a's first layer changed in place (the shared blob and
    // its link are one file); b's layer deleted; c's manifest gone, so
    // its tag b:v2 points at nothing; a's second layer unlinked from a;
    // the referrer's entry removed.
    let changed = &s.a.layers[0].digest;
    std::fs::write(blob_path(&root, changed), noise(30_000, 5)).unwrap();
    let deleted = &s.b.layers[0].digest;
    std::fs::remove_file(blob_path(&root, deleted)).unwrap();
    std::fs::remove_file(link_path(&root, "b", deleted)).unwrap();
    let gone = &s.c.manifest.digest;
    std::fs::remove_file(blob_path(&root, gone)).unwrap();
    std::fs::remove_file(link_path(&root, "b", gone)).unwrap();
    let unlinked = &s.a.layers[1].digest;
    std::fs::remove_file(link_path(&root, "a", unlinked)).unwrap();
    let entries = root.join("repositories/a/_referrers");
    std::fs::remove_dir_all(&entries).unwrap();

    let (code, v) = json_report(&config, &[]);
    assert_eq!(code, Some(1), "{v}");
    let corrupt = of_kind(&v, "findings", "corrupt_blob");
    assert_eq!(corrupt.len(), 1, "{v}");
    assert_eq!(corrupt[0]["digest"], changed.to_string());
    assert_eq!(
        corrupt[0]["found"],
        Digest::sha256(&noise(30_000, 5)).to_string()
    );
    let missing = of_kind(&v, "findings", "missing_blob");
    assert_eq!(missing.len(), 1, "{v}");
    assert_eq!(missing[0]["blob"], deleted.to_string());
    assert_eq!(missing[0]["manifest"], s.b.manifest.digest.to_string());
    // On a filesystem a tag is an entry of the layout's index.json, so
    // the tag left behind shows as a manifest that cannot be read.
    let unreadable = of_kind(&v, "findings", "unreadable_manifest");
    assert_eq!(unreadable.len(), 1, "{v}");
    assert_eq!(unreadable[0]["digest"], gone.to_string());
    assert_eq!(unreadable[0]["repository"], "b");
    let unlinked_found = of_kind(&v, "findings", "unlinked_blob");
    assert_eq!(unlinked_found.len(), 1, "{v}");
    assert_eq!(unlinked_found[0]["blob"], unlinked.to_string());
    let referrer = of_kind(&v, "findings", "missing_referrer");
    assert_eq!(referrer.len(), 1, "{v}");
    assert_eq!(referrer[0]["referrer"], s.referrer.to_string());
    // c's config and layer are orphans now, besides the blob pushed alone.
    let orphans = of_kind(&v, "findings", "orphan_blob");
    assert_eq!(orphans.len(), 3, "{v}");

    let (code, out) = fsck(&config, &["--repair"]);
    assert_eq!(code, Some(1), "damage that cannot be repaired stays: {out}");
    assert!(out.contains(&format!("repaired: blob {unlinked}")), "{out}");
    assert!(
        out.contains(&format!("repaired: manifest a@{}", s.referrer)),
        "{out}"
    );
    assert!(out.contains("3 damaged, 2 repaired"), "{out}");
    // Repaired for the server too: the layer pulls, the referrer is listed.
    assert!(p.pull("a", unlinked).await.is_some());
    let listed = referrers_api(&p, "a", &s.a.manifest.digest).await;
    assert_eq!(listed, vec![s.referrer.to_string()]);
    let report: FsckReport = reg.fsck(FsckMode::Check).await.unwrap();
    assert_eq!(report.damage().count(), 3, "{report:?}");
    assert!(report.repaired.is_empty());
    running.shutdown().await;

    let (code, out) = fsck(&dir.path().join("absent.yml"), &[]);
    assert_eq!(code, Some(2), "{out}");
    let (code, out) = fsck(&config, &["--bogus"]);
    assert_eq!(code, Some(2), "{out}");
}

#[cfg(feature = "s3")]
async fn damage_on_s3_is_reported_and_repaired() {
    use ocikit_registry::{RepositoryName, S3Storage, Storage, StoredManifest};
    use testkit::seaweed::Seaweed;

    let Some(weed) = Seaweed::start() else { return };
    let reg = crate::s3::spawn(&weed, "fsck", false).await;
    let p = Pusher::new(reg.url());
    let s = push(&p).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(&config, crate::s3::storage_yaml(&weed, "fsck", false)).unwrap();
    let (code, out) = fsck(&config, &[]);
    assert_eq!(code, Some(0), "{out}");

    // Through the storage, past the server's checks: a layer's link in b
    // removed, a tag on a manifest that names a blob never pushed, and
    // the referrer's entry dropped. The store's calls block: off the
    // test's runtime.
    let never = crate::push::Item {
        digest: Digest::sha256(b"never pushed"),
        size: 12,
    };
    let doc = Pusher::manifest_doc(&s.c.config, std::slice::from_ref(&never), None);
    let bytes = serde_json::to_vec(&doc).unwrap();
    let bad = Digest::sha256(&bytes);
    let unlinked = s.b.layers[0].digest.clone();
    let options = crate::s3::options(&weed, "fsck");
    let (subject, referrer, stored) = (
        s.a.manifest.digest.clone(),
        s.referrer.clone(),
        StoredManifest::new(bad.clone(), MANIFEST, bytes),
    );
    let u = unlinked.clone();
    let store = tokio::task::spawn_blocking(move || {
        let store = S3Storage::open(&options).unwrap();
        let (a, b) = (
            RepositoryName::parse("a").unwrap(),
            RepositoryName::parse("b").unwrap(),
        );
        assert!(store.unlink_blob(&b, &u).unwrap());
        store.put_manifest(&b, &stored, Some("broken")).unwrap();
        store.remove_referrer(&a, &subject, &referrer).unwrap();
        store
    })
    .await
    .unwrap();

    let (code, v) = json_report(&config, &[]);
    assert_eq!(code, Some(1), "{v}");
    let missing = of_kind(&v, "findings", "missing_blob");
    assert_eq!(missing.len(), 1, "{v}");
    assert_eq!(missing[0]["blob"], never.digest.to_string());
    assert_eq!(missing[0]["manifest"], bad.to_string());
    assert_eq!(of_kind(&v, "findings", "unlinked_blob").len(), 1, "{v}");
    assert_eq!(of_kind(&v, "findings", "missing_referrer").len(), 1, "{v}");

    let (code, v) = json_report(&config, &["--repair"]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["repaired"].as_array().unwrap().len(), 2, "{v}");
    assert!(p.pull("b", &unlinked).await.is_some());
    let listed = referrers_api(&p, "a", &s.a.manifest.digest).await;
    assert_eq!(listed, vec![s.referrer.to_string()]);
    let report = tokio::task::spawn_blocking(move || {
        ocikit_registry::fsck(&store, FsckMode::Check).unwrap()
    })
    .await
    .unwrap();
    let damage: Vec<&Finding> = report.damage().collect();
    assert_eq!(damage.len(), 1, "{report:?}");
    assert!(matches!(damage[0], Finding::MissingBlob { blob, .. } if *blob == never.digest));
    reg.shutdown().await;
}

#[cfg(not(feature = "s3"))]
async fn damage_on_s3_is_reported_and_repaired() {
    testkit::need::skip("built without the s3 feature");
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

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![; async
    damage_on_a_filesystem_is_reported_and_links_and_referrers_repaired,
    damage_on_s3_is_reported_and_repaired,
];
