//! Pushing and pulling an image with skopeo and with ocikit's client.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ocikit::distribution::{Client, ClientBuilder, Platforms};
use ocikit::image::{ImageBuilder, Layout};
use ocikit::types::{Descriptor, Digest, MediaType, Platform, Reference};

use crate::server::Server;

pub(crate) const LAYERS: usize = 4;
pub(crate) const LAYER_SIZE: usize = 64 << 20;

/// `n` bytes of xorshift output from `seed`: incompressible, made fast.
pub(crate) fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = (seed + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut data = vec![0u8; n];
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    data
}

/// An image of [`LAYERS`] gzip layers of [`LAYER_SIZE`] noise each (the
/// gzip stream stores it: noise does not compress), tagged `v1`; returns
/// its manifest's descriptor and the bytes of its blobs.
pub(crate) fn build_image(layout: &Layout) -> (Descriptor, u64) {
    let mut b = ImageBuilder::new(layout, Platform::new("linux", "amd64"));
    let mut total = 0;
    for i in 0..LAYERS {
        let data = noise(i as u64, LAYER_SIZE);
        let mut gz = flate2::write::GzEncoder::new(
            Vec::with_capacity(LAYER_SIZE + (1 << 20)),
            flate2::Compression::none(),
        );
        gz.write_all(&data).unwrap();
        let gz = gz.finish().unwrap();
        let blob = layout.write_blob(MediaType::ImageLayerGzip, &gz).unwrap();
        total += blob.size;
        b.add_layer(blob, Digest::sha256(&data), Some(&format!("layer {i}")));
    }
    let desc = b.write().unwrap();
    layout.tag("v1", desc.clone()).unwrap();
    (desc, total)
}

pub(crate) fn client(addr: &str) -> Client {
    ClientBuilder::new()
        .insecure_http_host(addr)
        .build()
        .unwrap()
}

fn skopeo(args: &[String]) {
    let out = Command::new("skopeo").args(args).output().expect("skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Which client moves the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tool {
    Skopeo,
    Ocikit,
}

impl Tool {
    pub(crate) const BOTH: [Tool; 2] = [Tool::Skopeo, Tool::Ocikit];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Tool::Skopeo => "skopeo",
            Tool::Ocikit => "ocikit client",
        }
    }
}

/// Wall time and the server's CPU seconds of one transfer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) wall: Duration,
    pub(crate) server_cpu: f64,
}

/// Pushes the `v1` image of `src_dir` to `bench/img:v1` on `server`.
pub(crate) fn push(
    rt: &tokio::runtime::Runtime,
    tool: Tool,
    server: &Server,
    src_dir: &Path,
    image: &Descriptor,
) -> Sample {
    let r: Reference = format!("{}/bench/img:v1", server.addr).parse().unwrap();
    let cpu0 = server.cpu();
    let t = Instant::now();
    match tool {
        Tool::Skopeo => skopeo(&[
            "copy".into(),
            "--quiet".into(),
            "--preserve-digests".into(),
            "--dest-tls-verify=false".into(),
            format!("oci:{}:v1", src_dir.display()),
            format!("docker://{r}"),
        ]),
        Tool::Ocikit => {
            let src = Layout::open(src_dir).unwrap();
            let d = rt
                .block_on(client(&server.addr).push_image(&src, image, &r))
                .unwrap();
            assert_eq!(&d, &image.digest);
        }
    }
    Sample {
        wall: t.elapsed(),
        server_cpu: server.cpu() - cpu0,
    }
}

/// Pulls `bench/img:v1` from `server` into a new layout at `dst`.
pub(crate) fn pull(
    rt: &tokio::runtime::Runtime,
    tool: Tool,
    server: &Server,
    dst: &Path,
    image: &Descriptor,
) -> Sample {
    let r: Reference = format!("{}/bench/img:v1", server.addr).parse().unwrap();
    let _ = std::fs::remove_dir_all(dst);
    let cpu0 = server.cpu();
    let t = Instant::now();
    match tool {
        Tool::Skopeo => skopeo(&[
            "copy".into(),
            "--quiet".into(),
            "--preserve-digests".into(),
            "--src-tls-verify=false".into(),
            format!("docker://{r}"),
            format!("oci:{}:v1", dst.display()),
        ]),
        Tool::Ocikit => {
            let layout = Layout::create(dst).unwrap();
            let d = rt
                .block_on(client(&server.addr).pull_image(&r, &layout, &Platforms::All))
                .unwrap();
            assert_eq!(d.digest, image.digest);
        }
    }
    Sample {
        wall: t.elapsed(),
        server_cpu: server.cpu() - cpu0,
    }
}
