//! Parse + validate throughput of the main documents, beside plain
//! `serde_json::Value` parsing of the same bytes as the reference row.
//!
//! `cargo bench --bench parse`

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ocikit::types::runtime::Spec;
use ocikit::types::{
    Descriptor, Digest, Document, ImageConfiguration, ImageIndex, ImageManifest, MediaType,
    Platform,
};

fn descriptor(i: usize, media_type: MediaType) -> Descriptor {
    let blob = format!("blob {i}");
    Descriptor::new(media_type, Digest::sha256(blob.as_bytes()), 1000 + i as u64)
}

/// A manifest of 12 layers with annotations, like a typical application image.
fn manifest() -> Vec<u8> {
    let layers = (0..12)
        .map(|i| descriptor(i, MediaType::ImageLayerGzip))
        .collect();
    let mut m = ImageManifest::new(descriptor(99, MediaType::ImageConfig), layers);
    m.annotations.insert(
        ocikit::types::annotation::CREATED.into(),
        "2026-11-27T00:00:00Z".into(),
    );
    m.annotations.insert(
        ocikit::types::annotation::SOURCE.into(),
        "https://example.com/src".into(),
    );
    m.to_pretty_string().into_bytes()
}

/// An index of 8 platforms, like a multi-arch base image.
fn index() -> Vec<u8> {
    let platforms = [
        ("amd64", None),
        ("arm64", Some("v8")),
        ("arm", Some("v7")),
        ("arm", Some("v6")),
        ("386", None),
        ("ppc64le", None),
        ("s390x", None),
        ("riscv64", None),
    ];
    let manifests = platforms
        .iter()
        .enumerate()
        .map(|(i, (arch, variant))| {
            let mut d = descriptor(i, MediaType::ImageManifest);
            let mut p = Platform::new("linux", *arch);
            p.variant = variant.map(str::to_owned);
            d.platform = Some(p);
            d
        })
        .collect();
    ImageIndex::new(manifests).to_pretty_string().into_bytes()
}

/// An image configuration with 12 layers of history, as a build tool writes.
fn config() -> Vec<u8> {
    let mut c = ImageConfiguration::new("linux", "amd64");
    c.created = Some("2026-11-27T00:00:00Z".into());
    let mut cfg = ocikit::types::Config::default();
    cfg.env = Some(vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        "LANG=C.UTF-8".into(),
    ]);
    cfg.cmd = Some(vec!["/bin/sh".into()]);
    cfg.working_dir = Some("/app".into());
    c.config = Some(cfg);
    for i in 0..12 {
        c.rootfs.diff_ids.push(Digest::sha256(&[i]));
        let mut h = ocikit::types::History::default();
        h.created = Some("2026-11-27T00:00:00Z".into());
        h.created_by = Some(format!("RUN step {i} && apt-get install -y something"));
        c.history.push(h);
    }
    c.to_pretty_string().into_bytes()
}

fn runtime_config() -> Vec<u8> {
    Spec::default_linux().to_pretty_string().into_bytes()
}

fn bench(c: &mut Criterion) {
    let docs: [(&str, Vec<u8>); 4] = [
        ("manifest", manifest()),
        ("index", index()),
        ("image-config", config()),
        ("runtime-config", runtime_config()),
    ];
    for (name, bytes) in &docs {
        let mut g = c.benchmark_group(*name);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("serde_json::Value", bytes.len()),
            bytes,
            |b, bytes| b.iter(|| serde_json::from_slice::<serde_json::Value>(bytes).unwrap()),
        );
        g.bench_with_input(
            BenchmarkId::new("ocikit parse+validate", bytes.len()),
            bytes,
            |b, bytes| {
                b.iter(|| {
                    match *name {
                        "manifest" => ImageManifest::from_slice_validated(bytes).map(drop),
                        "index" => ImageIndex::from_slice_validated(bytes).map(drop),
                        "image-config" => ImageConfiguration::from_slice_validated(bytes).map(drop),
                        _ => Spec::from_slice_validated(bytes).map(drop),
                    }
                    .unwrap()
                })
            },
        );
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
