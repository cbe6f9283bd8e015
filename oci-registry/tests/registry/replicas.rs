//! Several registries sharing one S3 bucket with no other coordination:
//! an upload continued on another replica, a tag seen at once on all,
//! racing tag pushes, and nginx balancing round-robin over three
//! `ocikit-registry serve` processes with skopeo and ocikit's client
//! pushing and pulling through it.

use ocikit_registry::RunningRegistry;
use ocikit_types::{Algorithm, Digest, Digester};
use testkit::seaweed::Seaweed;

use crate::s3::spawn;
use crate::support::{build_image, client, http, noise, reference};

/// A blob pushed in chunks whose `PATCH`es alternate between two
/// replicas (each resumes the hash from the stored bytes), completed on a
/// third, and read back from the first.
async fn a_chunked_upload_moves_between_replicas() {
    let Some(weed) = Seaweed::start() else { return };
    let mut regs = Vec::new();
    for _ in 0..3 {
        regs.push(spawn(&weed, "alternate", false).await);
    }
    let data = noise(12 << 20, 3);
    let digest = Digest::sha256(&data);
    let h = http();
    let base = |r: &RunningRegistry| format!("http://{}", r.host());
    let resp = h
        .post(format!("{}/v2/rep/blob/blobs/uploads/", base(&regs[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let mut location = resp.headers()["location"].to_str().unwrap().to_owned();
    let chunk = 2_500_000;
    for (i, part) in data.chunks(chunk).enumerate() {
        let start = i * chunk;
        let resp = h
            .patch(format!("{}{location}", base(&regs[i % 2])))
            .header("content-type", "application/octet-stream")
            .header(
                "content-range",
                format!("{start}-{}", start + part.len() - 1),
            )
            .body(part.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202, "chunk {i}");
        assert_eq!(
            resp.headers()["range"],
            format!("0-{}", start + part.len() - 1).as_str()
        );
        location = resp.headers()["location"].to_str().unwrap().to_owned();
    }
    // The session's status is the same on every replica.
    let status = h
        .get(format!("{}{location}", base(&regs[2])))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 204);
    assert_eq!(
        status.headers()["range"],
        format!("0-{}", data.len() - 1).as_str()
    );
    let resp = h
        .put(format!("{}{location}?digest={digest}", base(&regs[2])))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    let got = h
        .get(format!("{}/v2/rep/blob/blobs/{digest}", base(&regs[0])))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(got == data, "the blob read back differs");
}

/// A wrong digest given on another replica is refused, and nothing is
/// stored under it.
async fn a_wrong_digest_is_refused_on_another_replica() {
    let Some(weed) = Seaweed::start() else { return };
    let a = spawn(&weed, "wrong", false).await;
    let b = spawn(&weed, "wrong", false).await;
    let h = http();
    let resp = h
        .post(format!("http://{}/v2/rep/w/blobs/uploads/", a.host()))
        .send()
        .await
        .unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let resp = h
        .patch(format!("http://{}{location}", a.host()))
        .body(noise(1000, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let wrong = Digest::sha256(b"something else");
    let resp = h
        .put(format!("http://{}{location}?digest={wrong}", b.host()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = h
        .head(format!("http://{}/v2/rep/w/blobs/{wrong}", a.host()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

/// An image pushed through one replica is pulled through another right
/// away, its tag listed and resolved on every replica.
async fn a_tag_pushed_on_one_replica_is_read_on_the_others() {
    let Some(weed) = Seaweed::start() else { return };
    let a = spawn(&weed, "tags", false).await;
    let b = spawn(&weed, "tags", false).await;
    let c = spawn(&weed, "tags", false).await;
    let dir = tempfile::tempdir().unwrap();
    let src = ocikit_image::Layout::create(dir.path().join("src")).unwrap();
    let dst = ocikit_image::Layout::create(dir.path().join("dst")).unwrap();
    for round in 0..3 {
        let image = build_image(&src, "amd64", 1, 1000 + round);
        client(&a)
            .push_image(&src, &image, &reference(&a, "shared/app:latest"))
            .await
            .unwrap();
        for reg in [&b, &c] {
            let head = client(reg)
                .head_manifest(&reference(reg, "shared/app:latest"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(head.digest, image.digest, "round {round}");
        }
        let got = client(&b)
            .pull_image(
                &reference(&b, "shared/app:latest"),
                &dst,
                &ocikit_distribution::Platforms::All,
            )
            .await
            .unwrap();
        assert_eq!(got.digest, image.digest);
    }
    assert_eq!(
        client(&c)
            .tags(&reference(&c, "shared/app:latest"), None)
            .await
            .unwrap(),
        ["latest"]
    );
}

/// Two replicas push different manifests to one tag at the same time,
/// many times: each time every replica then reads one of the two, the
/// same one, whole (its bytes match the digest it is served under).
async fn racing_tag_pushes_end_with_one_winner() {
    let Some(weed) = Seaweed::start() else { return };
    let a = spawn(&weed, "race", false).await;
    let b = spawn(&weed, "race", false).await;
    let dir = tempfile::tempdir().unwrap();
    let src = ocikit_image::Layout::create(dir.path().join("src")).unwrap();
    let one = build_image(&src, "amd64", 1, 500);
    let two = build_image(&src, "arm64", 1, 600);
    for round in 0..10 {
        let (ra, rb) = (reference(&a, "race/app:v"), reference(&b, "race/app:v"));
        let (ca, cb) = (client(&a), client(&b));
        let (x, y) = tokio::join!(
            ca.push_image(&src, &one, &ra),
            cb.push_image(&src, &two, &rb)
        );
        x.unwrap();
        y.unwrap();
        let mut seen = Vec::new();
        for reg in [&a, &b] {
            let url = format!("http://{}/v2/race/app/manifests/v", reg.host());
            let resp = http()
                .get(url)
                .header("accept", "application/vnd.oci.image.manifest.v1+json")
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let served: Digest = resp.headers()["docker-content-digest"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            let bytes = resp.bytes().await.unwrap();
            let mut d = Digester::new(Algorithm::Sha256);
            d.update(&bytes);
            assert_eq!(d.finalize(), served, "round {round}: torn manifest");
            assert!(served == one.digest || served == two.digest);
            seen.push(served);
        }
        assert_eq!(seen[0], seen[1], "round {round}: the replicas disagree");
    }
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![;
    async a_chunked_upload_moves_between_replicas,
    a_wrong_digest_is_refused_on_another_replica,
    a_tag_pushed_on_one_replica_is_read_on_the_others,
    racing_tag_pushes_end_with_one_winner,
];
