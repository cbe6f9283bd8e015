//! The ORAS Python client (`pip install oras`) pushing artifacts whose
//! `subject` is an image on the embedded server, pulling them back, and
//! the server listing them through its referrers API, filtered by
//! artifact type.

use std::path::Path;
use std::process::Command;

use ocikit_image::Layout;
use ocikit_registry::Registry;
use ocikit_types::{Descriptor, Digest};

use crate::peer::ok;
use crate::support::{build_image, client, http, reference};

/// Pushes `FILE` to `HOST/REPO:TAG` as an artifact of type `TYPE` (the
/// config's media type: oras-py writes no `artifactType` field) with the
/// subject given by media type, digest and size, then pulls it into
/// `OUT`. Prints the manifest digest the server answered and the
/// `OCI-Subject` header.
const SCRIPT: &str = r#"
import json, sys
import oras.client, oras.oci
host, repo, tag, kind, path, out, s_type, s_digest, s_size = sys.argv[1:]
c = oras.client.OrasClient(hostname=host, insecure=True)
target = f"{host}/{repo}:{tag}"
subject = oras.oci.Subject(mediaType=s_type, digest=s_digest, size=int(s_size))
r = c.push(target=target, files=[path + ":application/vnd.example.data"],
           manifest_config="no-config-file:" + kind, subject=subject,
           disable_path_validation=True, quiet=True)
pulled = c.pull(target=target, outdir=out)
print(json.dumps({"digest": r.headers.get("Docker-Content-Digest"),
                  "subject": r.headers.get("OCI-Subject"), "pulled": pulled}))
"#;

/// Whether the ORAS Python package imports; records why not otherwise.
async fn oras_installed() -> bool {
    if !testkit::need::tool("python3") {
        return false;
    }
    let mut c = Command::new("python3");
    c.args(["-c", "import oras.client"]);
    crate::peer::output(c).await.status.success()
        || testkit::need::missing("the ORAS Python client is not installed (pip install oras)")
}

/// Pushes `content` as an artifact of type `kind` referring to `subject`
/// and returns the server's digest for it.
async fn oras_push(
    host: &str,
    target: (&str, &str),
    kind: &str,
    content: &str,
    subject: &Descriptor,
    dir: &Path,
) -> Digest {
    let work = dir.join(target.1);
    std::fs::create_dir_all(work.join("out")).unwrap();
    let file = work.join("data.txt");
    std::fs::write(&file, content).unwrap();
    let mut c = Command::new("python3");
    c.arg("-c")
        .arg(SCRIPT)
        .args([host, target.0, target.1, kind])
        .arg(&file)
        .arg(work.join("out"))
        .arg(subject.media_type.to_string())
        .arg(subject.digest.to_string())
        .arg(subject.size.to_string());
    let out = ok(c).await;
    let reply: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        reply["subject"].as_str(),
        Some(subject.digest.to_string().as_str()),
        "OCI-Subject: {reply}"
    );
    let pulled = std::fs::read_to_string(work.join("out/data.txt")).unwrap();
    assert_eq!(pulled, content, "oras pulled back what it pushed");
    reply["digest"].as_str().unwrap().parse().unwrap()
}

async fn oras_artifacts_with_a_subject_are_listed_as_referrers() {
    if !oras_installed().await {
        return;
    }
    let dir = testkit::temp::dir("oras");
    let reg = Registry::builder()
        .filesystem(dir.path().join("store"))
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 1, 1000);
    client(&reg)
        .push_image(&src, &image, &reference(&reg, "app:1"))
        .await
        .unwrap();
    let host = reg.host();
    let sbom_type = "application/vnd.example.sbom.v1+json";
    let sig_type = "application/vnd.example.signature.v1";
    let sbom = oras_push(
        &host,
        ("app", "sbom"),
        sbom_type,
        "sbom\n",
        &image,
        dir.path(),
    )
    .await;
    let sig = oras_push(&host, ("app", "sig"), sig_type, "sig\n", &image, dir.path()).await;

    // The digests the server answered are those of the bytes it serves.
    for d in [&sbom, &sig] {
        let raw = client(&reg)
            .pull_manifest(&reference(&reg, &format!("app@{d}")))
            .await
            .unwrap();
        assert_eq!(&Digest::sha256(&raw.bytes), d);
    }

    let url = format!("http://{host}/v2/app/referrers/{}", image.digest);
    let all = http().get(&url).send().await.unwrap();
    assert_eq!(all.status(), 200);
    assert_eq!(
        all.headers()["content-type"],
        "application/vnd.oci.image.index.v1+json"
    );
    let all: serde_json::Value = all.json().await.unwrap();
    let mut listed: Vec<(String, String)> = all["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["digest"].as_str().unwrap().to_owned(),
                m["artifactType"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    listed.sort();
    let mut want = vec![
        (sbom.to_string(), sbom_type.to_owned()),
        (sig.to_string(), sig_type.to_owned()),
    ];
    want.sort();
    assert_eq!(listed, want, "{all}");

    // Encoded as a query value: a bare `+` would be read as a space.
    let filtered = http()
        .get(format!(
            "{url}?artifactType={}",
            sbom_type.replace('+', "%2B")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.status(), 200);
    assert_eq!(filtered.headers()["oci-filters-applied"], "artifactType");
    let filtered: serde_json::Value = filtered.json().await.unwrap();
    let manifests = filtered["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "{filtered}");
    assert_eq!(manifests[0]["digest"], sbom.to_string());
    assert_eq!(manifests[0]["artifactType"], sbom_type);

    // Deleting an artifact takes it out of the list.
    client(&reg)
        .delete_manifest(&reference(&reg, "app:sig"), &sig)
        .await
        .unwrap();
    let after: serde_json::Value = http().get(&url).send().await.unwrap().json().await.unwrap();
    let manifests = after["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "{after}");
    assert_eq!(manifests[0]["digest"], sbom.to_string());
}

pub(crate) const TESTS: &[testkit::Test] =
    testkit::tests![; async oras_artifacts_with_a_subject_are_listed_as_referrers];
