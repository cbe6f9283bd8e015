//! Helpers shared by the suites: images to push, clients, raw requests.

use ocikit_distribution::{Client, ClientBuilder};
use ocikit_image::{ImageBuilder, Layout};
use ocikit_registry::RunningRegistry;
use ocikit_types::{Descriptor, Digest, MediaType, Platform, Reference};

/// An image of `layers` layers of `size` pseudo-random bytes each.
pub(crate) fn build_image(layout: &Layout, arch: &str, layers: usize, size: usize) -> Descriptor {
    let mut b = ImageBuilder::new(layout, Platform::new("linux", arch));
    for i in 0..layers {
        let data = noise(size, i as u64 + arch.len() as u64);
        let blob = layout.write_blob(MediaType::ImageLayer, &data).unwrap();
        b.add_layer(blob, Digest::sha256(&data), Some(&format!("layer {i}")));
    }
    b.write().unwrap()
}

/// `size` pseudo-random bytes (xorshift from `seed`).
pub(crate) fn noise(size: usize, seed: u64) -> Vec<u8> {
    let mut x = (seed + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub(crate) fn client(reg: &RunningRegistry) -> Client {
    ClientBuilder::new()
        .insecure_http_host(&reg.host())
        .build()
        .unwrap()
}

pub(crate) fn reference(reg: &RunningRegistry, rest: &str) -> Reference {
    format!("{}/{rest}", reg.host()).parse().unwrap()
}

/// A plain HTTP client for requests the registry client never makes.
pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The `code` of the first error in an error body.
pub(crate) async fn error_code(resp: reqwest::Response) -> String {
    let body: serde_json::Value = resp.json().await.unwrap();
    body["errors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
