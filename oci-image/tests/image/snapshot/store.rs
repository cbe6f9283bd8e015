//! Sharing layers between images, failing layers, and collection.

use std::fs;

use ocikit_image::{Error, LayerDigestKind, Layout, SnapshotOptions, SnapshotStore};
use ocikit_types::Digest;

use super::common::{image, layer, E};

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    two_images_sharing_a_base_layer_unpack_it_once,
    a_layer_failing_its_diff_id_leaves_no_snapshot,
    gc_removes_unreferenced_snapshots_only,
    bad_container_ids_are_refused,
];

fn layers() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    (
        layer(&[E::Dir("bin"), E::File("bin/sh", "shell")]),
        layer(&[E::File("a", "a")]),
        layer(&[E::File("b", "b")]),
    )
}

fn two_images_sharing_a_base_layer_unpack_it_once() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(tmp.path().join("layout")).unwrap();
    let store = SnapshotStore::open(tmp.path().join("store")).unwrap();
    let (base, a, b) = layers();
    let (ia, ib) = (
        image(&layout, &[base.clone(), a.clone()], None),
        image(&layout, &[base.clone(), b.clone()], None),
    );
    let opts = SnapshotOptions::new();
    let sa = store.add_image(&layout, &ia, &opts).unwrap();
    assert_eq!(sa.unpacked, [Digest::sha256(&base), Digest::sha256(&a)]);
    let sb = store.add_image(&layout, &ib, &opts).unwrap();
    assert_eq!(
        sb.unpacked,
        [Digest::sha256(&b)],
        "the base layer was unpacked again"
    );
    assert_eq!(sa.layer_dirs[0], sb.layer_dirs[0]);
    assert_eq!(
        fs::read_to_string(sb.layer_dirs[0].join("bin/sh")).unwrap(),
        "shell"
    );
    assert_eq!(store.layers().unwrap().len(), 3);
    // Adding again unpacks nothing.
    assert!(store
        .add_image(&layout, &ia, &opts)
        .unwrap()
        .unpacked
        .is_empty());
}

fn a_layer_failing_its_diff_id_leaves_no_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(tmp.path().join("layout")).unwrap();
    let store = SnapshotStore::open(tmp.path().join("store")).unwrap();
    let (base, a, _) = layers();
    let wrong = Digest::sha256(b"not this layer");
    let img = image(
        &layout,
        &[base.clone(), a],
        Some(&[Digest::sha256(&base), wrong.clone()]),
    );
    let err = store
        .prepare(&layout, &img, "c1", &SnapshotOptions::new())
        .unwrap_err();
    assert!(err.is_integrity(), "{err}");
    let Error::Layer { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(matches!(
        **source,
        Error::LayerDigestMismatch { kind: LayerDigestKind::DiffId, ref expected, .. } if *expected == wrong
    ));
    // The good base layer stays (committed before); the bad one left nothing.
    assert_eq!(store.layers().unwrap(), [Digest::sha256(&base)]);
    assert!(!store.layer_dir(&wrong).unwrap().exists());
    assert_eq!(fs::read_dir(store.path().join("tmp")).unwrap().count(), 0);
    assert_eq!(
        fs::read_dir(store.path().join("containers"))
            .unwrap()
            .count(),
        0
    );
    // Nothing uses the base layer once the container is gone... but the
    // image does until removed.
    assert_eq!(store.gc().unwrap().layers, []);
    store.remove_image(&img.digest).unwrap();
    assert_eq!(store.gc().unwrap().layers, [Digest::sha256(&base)]);
}

fn gc_removes_unreferenced_snapshots_only() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(tmp.path().join("layout")).unwrap();
    let store = SnapshotStore::open(tmp.path().join("store")).unwrap();
    let (base, a, b) = layers();
    let ia = image(&layout, &[base.clone(), a.clone()], None);
    let ib = image(&layout, &[base.clone(), b.clone()], None);
    let opts = SnapshotOptions::new();
    store.add_image(&layout, &ia, &opts).unwrap();
    store.prepare(&layout, &ib, "c1", &opts).unwrap();
    // What an interrupted unpack leaves: a temporary directory nobody locks.
    fs::create_dir_all(store.path().join("tmp/sha256-0000.x1y2/etc")).unwrap();

    let report = store.gc().unwrap();
    assert_eq!(report.layers, [], "layers in use were collected");
    assert_eq!(report.temporaries, 1);
    assert_eq!(fs::read_dir(store.path().join("tmp")).unwrap().count(), 0);

    assert_eq!(store.remove_image(&ia.digest).unwrap(), 2);
    assert_eq!(store.gc().unwrap().layers, [Digest::sha256(&a)]);
    // Image b is gone but its container still uses its layers.
    store.remove_image(&ib.digest).unwrap();
    assert_eq!(store.gc().unwrap().layers, []);
    assert!(store.remove_container("c1").unwrap());
    let mut left = store.gc().unwrap().layers;
    left.sort();
    let mut want = vec![Digest::sha256(&base), Digest::sha256(&b)];
    want.sort();
    assert_eq!(left, want);
    assert!(store.layers().unwrap().is_empty());
}

fn bad_container_ids_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(tmp.path().join("layout")).unwrap();
    let store = SnapshotStore::open(tmp.path().join("store")).unwrap();
    let (base, _, _) = layers();
    let img = image(&layout, &[base], None);
    let opts = SnapshotOptions::new();
    for bad in ["../escape", "", "a/b"] {
        let err = store.prepare(&layout, &img, bad, &opts).unwrap_err();
        assert!(matches!(err, Error::BadContainerId { .. }), "{bad}: {err}");
    }
    store.prepare(&layout, &img, "c1", &opts).unwrap();
    let err = store.prepare(&layout, &img, "c1", &opts).unwrap_err();
    assert!(err.to_string().contains("not in use"), "{err}");
    // The refused duplicate did not take the first one down.
    assert!(store.path().join("containers/c1/rootfs").is_dir());
    store.remove_container("c1").unwrap();
}
