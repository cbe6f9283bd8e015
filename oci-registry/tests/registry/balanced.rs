//! nginx (Debian's) on loopback, balancing round-robin over three
//! `ocikit-registry serve` processes sharing one S3 bucket, as operators
//! deploy replicas: skopeo and ocikit's client push and pull through it,
//! each request of an upload landing on the next replica.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ocikit_distribution::{ClientBuilder, Platforms};
use ocikit_image::Layout;
use ocikit_types::Reference;
use testkit::seaweed::Seaweed;

use crate::s3::Served;
use crate::support::build_image;

/// nginx in front of `upstreams`, killed on drop.
struct Nginx {
    child: Child,
    host: String,
}

impl Nginx {
    fn start(dir: &Path, upstreams: &[&str]) -> Nginx {
        let port = testkit::registry::free_port();
        let d = dir.display();
        let servers: String = upstreams
            .iter()
            .map(|u| format!("    server {u};\n"))
            .collect();
        // One process, no workers: killing it leaves nothing behind (a
        // worker outliving a killed master would keep serving, and keep
        // whatever files the test's parent handed down open).
        let conf = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\nevents {{ worker_connections 256; }}\nhttp {{\n  log_format up '$request_method $uri $status $upstream_addr';\n  access_log {d}/access.log up;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  upstream registries {{\n{servers}  }}\n  server {{\n    listen 127.0.0.1:{port};\n    client_max_body_size 0;\n    location / {{\n      proxy_pass http://registries;\n      proxy_http_version 1.1;\n      proxy_set_header Host $http_host;\n      proxy_request_buffering off;\n      proxy_buffering off;\n      proxy_read_timeout 120s;\n    }}\n  }}\n}}\n"
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let child = Command::new("nginx")
            .arg("-c")
            .arg(&path)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let host = format!("127.0.0.1:{port}");
        let start = Instant::now();
        while std::net::TcpStream::connect(&host).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "nginx did not listen: {}",
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx { child, host }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn skopeo(args: &[&str]) {
    let out = Command::new("skopeo").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn skopeo_and_ocikit_push_through_nginx_over_three_replicas() {
    if !testkit::need::tools(&["nginx", "skopeo"]) {
        return;
    }
    let Some(weed) = Seaweed::start() else { return };
    let replicas: Vec<Served> = (0..3)
        .map(|_| Served::start(&weed, "balanced", false))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let upstreams: Vec<&str> = replicas.iter().map(|r| r.host.as_str()).collect();
    let nginx = Nginx::start(dir.path(), &upstreams);
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 3, 3_000_000);
    src.tag("v1", image.clone()).unwrap();

    // skopeo pushes (its chunked upload requests go round the replicas)
    // and pulls back.
    let digest_file = dir.path().join("digest");
    let dest = format!("docker://{}/lb/app:v1", nginx.host);
    let (s, d, df) = (
        format!("oci:{}:v1", src.path().display()),
        dest.clone(),
        digest_file.display().to_string(),
    );
    let back = dir.path().join("back");
    let b = format!("oci:{}:got", back.display());
    tokio::task::spawn_blocking(move || {
        let tls = ["--src-tls-verify=false", "--dest-tls-verify=false"];
        let mut push = vec!["copy", "--quiet", "--preserve-digests", "--digestfile", &df];
        push.extend(tls);
        push.extend([s.as_str(), d.as_str()]);
        skopeo(&push);
        let mut pull = vec!["copy", "--quiet", "--preserve-digests"];
        pull.extend(tls);
        pull.extend([d.as_str(), b.as_str()]);
        skopeo(&pull);
    })
    .await
    .unwrap();
    let pushed = std::fs::read_to_string(&digest_file).unwrap();
    assert_eq!(pushed.trim(), image.digest.as_str());
    let back = Layout::open(&back).unwrap();
    assert_eq!(back.resolve("got").unwrap().digest, image.digest);
    assert!(back.verify().unwrap().is_ok());

    // ocikit's client pushes another image and pulls both.
    let c = ClientBuilder::new()
        .insecure_http_host(&nginx.host)
        .build()
        .unwrap();
    let other = build_image(&src, "arm64", 2, 2_000_000);
    let r2: Reference = format!("{}/lb/other:v2", nginx.host).parse().unwrap();
    assert_eq!(c.push_image(&src, &other, &r2).await.unwrap(), other.digest);
    let dst = Layout::create(dir.path().join("dst")).unwrap();
    for (r, want) in [
        (r2, &other.digest),
        (
            format!("{}/lb/app:v1", nginx.host).parse().unwrap(),
            &image.digest,
        ),
    ] {
        assert_eq!(
            &c.pull_image(&r, &dst, &Platforms::All)
                .await
                .unwrap()
                .digest,
            want
        );
    }

    // Every replica answered requests.
    let log = std::fs::read_to_string(dir.path().join("access.log")).unwrap();
    for host in &upstreams {
        let n = log.lines().filter(|l| l.ends_with(host)).count();
        assert!(n > 3, "replica {host} answered {n} requests:\n{log}");
    }
}

pub(crate) const TESTS: &[testkit::Test] =
    testkit::tests![; async skopeo_and_ocikit_push_through_nginx_over_three_replicas];
