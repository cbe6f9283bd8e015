//! The `ocikit-registry` binary killed with SIGKILL at random moments of
//! many concurrent pushes: the store reopens, every blob verifies, every
//! manifest's references exist, and the next start leaves no temp file.
//! And `garbage-collect` run beside a serving registry.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ocikit_registry::{FsStorage, RepositoryName, Storage};
use ocikit_types::{AnyManifest, Digest, Document, ImageIndex};

use crate::push::{age_blob, Pusher};
use crate::support::noise;

const BIN: &str = env!("CARGO_BIN_EXE_ocikit-registry");

/// `ocikit-registry serve` on a free port with its store in `dir/data`.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) config: PathBuf,
}

impl Server {
    pub(crate) fn start(dir: &Path, extra: &str) -> Server {
        let port = testkit::registry::free_port();
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n{extra}http:\n  addr: 127.0.0.1:{port}\n",
                dir.join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new(BIN)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            config,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and the exit collected.
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// Pushes images in chunks until a request fails (the server is gone).
async fn keep_pushing(p: Pusher, worker: u64) {
    for n in 0u64.. {
        let repo = format!("w{}", worker % 3);
        let mut layers = Vec::new();
        for l in 0..2 {
            let data = noise(
                60_000 + ((worker * 7 + n * 13 + l) % 5) as usize * 50_000,
                worker * 10_000 + n * 10 + l,
            );
            let Some(item) = chunked(&p, &repo, &data).await else {
                return;
            };
            layers.push(item);
        }
        let config = format!("{{\"w\":{worker},\"n\":{n}}}");
        let Some(config) = chunked(&p, &repo, config.as_bytes()).await else {
            return;
        };
        let doc = Pusher::manifest_doc(&config, &layers, None);
        let url = format!("{}/v2/{repo}/manifests/t{worker}-{n}", p.base);
        let sent =
            p.h.put(url)
                .header("content-type", crate::push::MANIFEST)
                .body(serde_json::to_vec(&doc).unwrap())
                .send()
                .await;
        if sent.is_err() {
            return;
        }
    }
}

/// A chunked upload (session, PATCHes of 64 KiB, PUT); `None` when the
/// server went away.
async fn chunked(p: &Pusher, repo: &str, data: &[u8]) -> Option<crate::push::Item> {
    let resp =
        p.h.post(format!("{}/v2/{repo}/blobs/uploads/", p.base))
            .send()
            .await
            .ok()?;
    let mut url = format!(
        "{}{}",
        p.base,
        resp.headers().get("location")?.to_str().ok()?
    );
    let mut start = 0;
    for chunk in data.chunks(64 << 10) {
        let end = start + chunk.len() - 1;
        let resp =
            p.h.patch(&url)
                .header("content-range", format!("{start}-{end}"))
                .body(chunk.to_vec())
                .send()
                .await
                .ok()?;
        url = format!(
            "{}{}",
            p.base,
            resp.headers().get("location")?.to_str().ok()?
        );
        start = end + 1;
    }
    let digest = Digest::sha256(data);
    let sep = if url.contains('?') { '&' } else { '?' };
    let resp =
        p.h.put(format!("{url}{sep}digest={digest}"))
            .send()
            .await
            .ok()?;
    (resp.status() == 201).then_some(crate::push::Item {
        digest,
        size: data.len() as u64,
    })
}

/// Every file under `dir/<alg>/<hex>` holds bytes of that digest.
fn verify_blobs(dir: &Path) -> usize {
    let mut n = 0;
    for alg in std::fs::read_dir(dir).into_iter().flatten() {
        let alg = alg.unwrap();
        for f in std::fs::read_dir(alg.path()).unwrap() {
            let f = f.unwrap();
            let name = format!(
                "{}:{}",
                alg.file_name().to_str().unwrap(),
                f.file_name().to_str().unwrap()
            );
            let digest: Digest = name.parse().unwrap();
            let bytes = std::fs::read(f.path()).unwrap();
            assert_eq!(Digest::sha256(&bytes), digest, "{}", f.path().display());
            n += 1;
        }
    }
    n
}

/// Checks the store of a killed server through its files: blobs verify,
/// and each repository's index names manifests whose references are
/// linked in it. Returns the number of manifests.
fn verify_store(root: &Path) -> usize {
    verify_blobs(&root.join("blobs"));
    let mut manifests = 0;
    let mut stack = vec![root.join("repositories")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            if p.is_dir() && !name.starts_with('_') {
                stack.push(p);
            }
        }
        let layout = dir.join("_layout");
        if !layout.join("oci-layout").is_file() {
            continue;
        }
        verify_blobs(&layout.join("blobs"));
        let index =
            ImageIndex::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        let linked = |d: &Digest| layout.join("blobs").join(d.algorithm()).join(d.encoded());
        for m in &index.manifests {
            let bytes = std::fs::read(linked(&m.digest)).unwrap();
            let parsed = AnyManifest::from_slice(&bytes, Some(m.media_type.as_str())).unwrap();
            for child in parsed.children() {
                assert!(
                    linked(&child.digest).is_file(),
                    "{} of {} in {}",
                    child.digest,
                    m.digest,
                    dir.display()
                );
            }
            manifests += 1;
        }
    }
    manifests
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// The temp files under `root` (the next start removes them).
fn leftovers(root: &Path) -> usize {
    let mut n = count(&root.join("_tmp"));
    let mut stack = vec![root.join("repositories"), root.join("_uploads")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            if name.starts_with(".ocikit-") || dir.ends_with(".ocikit/tmp") {
                n += 1;
            } else if p.is_dir() && name != "blobs" {
                stack.push(p);
            }
        }
    }
    n
}

/// Nothing of an interrupted write is left: no temp file anywhere, and
/// every upload folder is a whole session.
fn assert_no_leftovers(root: &Path) {
    assert_eq!(std::fs::read_dir(root.join("_tmp")).unwrap().count(), 0);
    for s in std::fs::read_dir(root.join("_uploads")).unwrap() {
        assert!(s.unwrap().path().join("session.json").is_file());
    }
    let mut stack = vec![root.join("repositories")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            assert!(!name.starts_with(".ocikit-"), "{} is left", p.display());
            if p.is_dir() && name != "blobs" {
                if name == "tmp" {
                    assert_eq!(std::fs::read_dir(&p).unwrap().count(), 0, "{}", p.display());
                }
                stack.push(p);
            }
        }
    }
}

fn kill_9_during_concurrent_pushes_leaves_a_whole_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let rt = multi_thread();
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    eprintln!("kill moments from seed {seed}");
    for round in 0..5u64 {
        let server = Server::start(dir.path(), "");
        if round > 0 {
            assert_no_leftovers(&root);
            // The store opens (beside the server: no cleaning) and its
            // API sees every manifest.
            let s = FsStorage::open(&root).unwrap();
            for repo in s.repositories().unwrap() {
                let repo = RepositoryName::parse(&repo).unwrap();
                for d in s.manifest_digests(&repo).unwrap() {
                    assert!(s.manifest(&repo, &d).unwrap().is_some());
                }
            }
        }
        let workers: Vec<_> = (0..6)
            .map(|w| {
                rt.spawn(keep_pushing(
                    Pusher::new(server.url.clone()),
                    round * 10 + w,
                ))
            })
            .collect();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(150 + seed % 1200));
        server.kill();
        for w in workers {
            rt.block_on(w).unwrap();
        }
        let manifests = verify_store(&root);
        eprintln!(
            "round {round}: {manifests} manifests stored before the kill, {} temp files and {} upload folders left",
            leftovers(&root),
            count(&root.join("_uploads"))
        );
    }
    let server = Server::start(dir.path(), "");
    assert_no_leftovers(&root);
    let p = Pusher::new(server.url.clone());
    rt.block_on(async { p.image("after", Some("v1"), 1, &[1000], &[]).await });
    assert!(verify_store(&root) > 0);
}

fn garbage_collect_runs_beside_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        "  maintenance:\n    garbagecollect:\n      graceperiod: 30m\n",
    );
    let rt = multi_thread();
    let p = Pusher::new(server.url.clone());
    let (image, orphan) = rt.block_on(async {
        let image = p.image("r", Some("v1"), 1, &[5000], &[]).await;
        (image, p.blob("r", b"nobody's").await)
    });
    let fresh = rt.block_on(p.blob("r", b"pushed just now"));
    age_blob(&dir.path().join("data"), &orphan.digest);
    let run = |flags: &[&str]| {
        let out = Command::new(BIN)
            .arg("garbage-collect")
            .arg(&server.config)
            .args(flags)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = run(&["--dry-run"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!("blob eligible for deletion: {}", orphan.digest)),
        "{text}"
    );
    assert!(!text.contains(&fresh.digest.to_string()), "{text}");
    assert!(
        text.contains("1 unreferenced blobs kept within the grace period"),
        "{text}"
    );
    assert!(rt.block_on(p.pull("r", &orphan.digest)).is_some());
    let (code, text) = run(&["--delete-untagged"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!("blob deleted: {}", orphan.digest)),
        "{text}"
    );
    rt.block_on(async {
        assert!(p.pull("r", &orphan.digest).await.is_none());
        assert!(p.pull("r", &fresh.digest).await.is_some());
        for d in image.digests().iter().skip(1) {
            assert!(p.pull("r", d).await.is_some());
        }
    });
    assert_eq!(run(&["--frobnicate"]).0, Some(2));
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    kill_9_during_concurrent_pushes_leaves_a_whole_store,
    garbage_collect_runs_beside_the_server,
];
