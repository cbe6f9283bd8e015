//! OCI artifacts: push and pull files, attach them to images, list them,
//! and interoperate with the ORAS Python client.

use std::collections::BTreeMap;
use std::process::Command;

use ocikit_distribution::{ArtifactFile, ClientBuilder};
use ocikit_image::Layout;
use ocikit_types::{MediaType, Reference};

use crate::peer;
use crate::real::build_image;

fn oras_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import oras.client"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok || testkit::need::missing("the ORAS Python client is not installed (pip install oras)")
}

fn python(script: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn artifacts_push_pull_attach_and_list() {
    let Some(reg) = peer::start() else { return };
    let c = ClientBuilder::new()
        .insecure_http_host(&reg.addr)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sbom.spdx.json"),
        br#"{"spdxVersion":"SPDX-2.3"}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"release notes").unwrap();

    // An image, and an SBOM attached to it.
    let layout = Layout::create(dir.path().join("layout")).unwrap();
    let image = build_image(&layout, "amd64", 1, 1000);
    let ir: Reference = format!("{}/app:1", reg.addr).parse().unwrap();
    c.push_image(&layout, &image, &ir).await.unwrap();

    let sbom_type: MediaType = "application/spdx+json".parse().unwrap();
    let files = [
        ArtifactFile::new(dir.path().join("sbom.spdx.json"), MediaType::SpdxJson),
        ArtifactFile::new(dir.path().join("notes.txt"), "text/plain".parse().unwrap()),
    ];
    let ar: Reference = format!("{}/app:sbom", reg.addr).parse().unwrap();
    let mut ann = BTreeMap::new();
    ann.insert("org.example.kind".to_owned(), "sbom".to_owned());
    let sbom = c
        .push_artifact(&ar, &sbom_type, &files, Some(image.clone()), ann)
        .await
        .unwrap();

    let refs = c
        .referrers(&ir, &image.digest, Some("application/spdx+json"))
        .await
        .unwrap();
    assert_eq!(refs.manifests.len(), 1);
    assert_eq!(refs.manifests[0].digest, sbom.digest);
    assert_eq!(refs.manifests[0].annotations["org.example.kind"], "sbom");

    let out = dir.path().join("out");
    let written = c.pull_artifact(&ar, &out).await.unwrap();
    assert_eq!(written.len(), 2);
    assert_eq!(
        std::fs::read(out.join("notes.txt")).unwrap(),
        b"release notes"
    );
    assert_eq!(
        std::fs::read(out.join("sbom.spdx.json")).unwrap(),
        br#"{"spdxVersion":"SPDX-2.3"}"#
    );
}

async fn oras_reads_our_artifacts_and_we_read_its() {
    let Some(reg) = peer::start() else { return };
    if !oras_available() {
        return;
    }
    let c = ClientBuilder::new()
        .insecure_http_host(&reg.addr)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();

    // ORAS pushes; we pull.
    std::fs::write(dir.path().join("hello.txt"), b"hello from oras").unwrap();
    python(&format!(
        "import os, oras.client\nos.chdir('{d}')\nc = oras.client.OrasClient(hostname='{0}', insecure=True)\nc.push(target='{0}/oras/pushed:1', files=['hello.txt:text/plain'])",
        reg.addr
    ));
    let r: Reference = format!("{}/oras/pushed:1", reg.addr).parse().unwrap();
    let written = c.pull_artifact(&r, dir.path().join("ours")).await.unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(
        std::fs::read(dir.path().join("ours/hello.txt")).unwrap(),
        b"hello from oras"
    );

    // We push; ORAS pulls.
    std::fs::write(dir.path().join("chart.tgz"), b"not really a chart").unwrap();
    let r: Reference = format!("{}/ocikit/pushed:1", reg.addr).parse().unwrap();
    c.push_artifact(
        &r,
        &"application/vnd.example.bundle".parse().unwrap(),
        &[ArtifactFile::new(
            dir.path().join("chart.tgz"),
            MediaType::HelmChartContent,
        )],
        None,
        BTreeMap::new(),
    )
    .await
    .unwrap();
    let listed = python(&format!(
        "import oras.client\nc = oras.client.OrasClient(hostname='{0}', insecure=True)\nprint('\\n'.join(c.pull(target='{0}/ocikit/pushed:1', outdir='{d}/theirs')))",
        reg.addr
    ));
    assert!(listed.contains("chart.tgz"), "{listed}");
    assert_eq!(
        std::fs::read(dir.path().join("theirs/chart.tgz")).unwrap(),
        b"not really a chart"
    );
}

async fn hostile_artifact_titles_cannot_escape() {
    let Some(reg) = peer::start() else { return };
    let c = ClientBuilder::new()
        .insecure_http_host(&reg.addr)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path().join("layout")).unwrap();
    let blob = layout
        .write_blob(MediaType::Other("text/plain".into()), b"evil")
        .unwrap();
    let mut blob = blob;
    blob.annotations.insert(
        ocikit_types::annotation::TITLE.into(),
        "../escape.txt".into(),
    );
    layout.write_blob(MediaType::EmptyJson, b"{}").unwrap();
    let mut m = ocikit_types::ImageManifest::new(ocikit_types::Descriptor::empty(), vec![blob]);
    m.artifact_type = Some("application/vnd.evil".parse().unwrap());
    let desc = layout
        .write_document(&ocikit_types::Raw::from_value(m), MediaType::ImageManifest)
        .unwrap();
    let r: Reference = format!("{}/evil:1", reg.addr).parse().unwrap();
    c.push_image(&layout, &desc, &r).await.unwrap();
    let out = dir.path().join("out");
    let err = c.pull_artifact(&r, &out).await.unwrap_err();
    assert!(err.to_string().contains("plain file name"), "{err}");
    assert!(!dir.path().join("escape.txt").exists());
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![; async artifacts_push_pull_attach_and_list, oras_reads_our_artifacts_and_we_read_its, hostile_artifact_titles_cannot_escape];
