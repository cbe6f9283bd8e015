//! Prepares of one image at once, from threads and from processes: each
//! layer is unpacked once and every prepare succeeds.

use std::path::Path;
use std::process::Command;

use ocikit_image::{Layout, SnapshotOptions, SnapshotStore};
use ocikit_types::Descriptor;

use super::common::{image, layer, E};

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    concurrent_prepares_in_threads_unpack_each_layer_once,
    concurrent_prepares_in_processes_unpack_each_layer_once,
];

const CHILD_ENV: &str = "OCIKIT_TEST_SNAPSHOT_CHILD";

/// In a child started by the process test: prepares the container named
/// by the environment and prints how many layers it unpacked.
pub(crate) fn child_if_requested() {
    let Ok(req) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = req.split('\n');
    let (layout, store, tag, id) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let layout = Layout::open(layout).unwrap();
    let store = SnapshotStore::open(store).unwrap();
    let desc = layout.resolve(tag).unwrap();
    match store.prepare(&layout, &desc, id, &SnapshotOptions::new()) {
        Ok(root) => {
            println!("{}", root.image.unpacked.len());
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!(
                "{e}: {:?}",
                std::error::Error::source(&e).map(|s| s.to_string())
            );
            std::process::exit(1)
        }
    }
}

/// An image of four layers, the first big enough that unpacks overlap.
fn image_of_four(layout: &Layout) -> Descriptor {
    let names: Vec<String> = (0..2000).map(|i| format!("many/f{i}")).collect();
    let mut big = vec![E::Dir("many")];
    big.extend(names.iter().map(|n| E::File(n, "content")));
    let layers = [
        layer(&big),
        layer(&[E::File("one", "1")]),
        layer(&[E::File("two", "2")]),
        layer(&[E::File("three", "3")]),
    ];
    image(layout, &layers, None)
}

fn remove_all(store: &SnapshotStore, ids: impl Iterator<Item = String>) {
    for id in ids {
        store.remove_container(&id).unwrap();
    }
}

fn concurrent_prepares_in_threads_unpack_each_layer_once() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(tmp.path().join("layout")).unwrap();
    let img = image_of_four(&layout);
    let store_dir = tmp.path().join("store");
    let unpacked: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let (layout, img, store_dir) = (&layout, &img, &store_dir);
                s.spawn(move || {
                    // A store of its own per thread, as separate processes have.
                    let store = SnapshotStore::open(store_dir).unwrap();
                    let root = store
                        .prepare(layout, img, &format!("t{i}"), &SnapshotOptions::new())
                        .unwrap();
                    assert!(root.rootfs.join("many/f1999").is_file());
                    root.image.unpacked.len()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(unpacked, 4, "layers unpacked, over all threads");
    let store = SnapshotStore::open(&store_dir).unwrap();
    assert_eq!(store.layers().unwrap().len(), 4);
    remove_all(&store, (0..6).map(|i| format!("t{i}")));
}

fn concurrent_prepares_in_processes_unpack_each_layer_once() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(tmp.path().join("layout")).unwrap();
    let img = image_of_four(&layout);
    layout.tag("v1", img).unwrap();
    let store_dir = tmp.path().join("store");
    let arg = |id: &str| {
        format!(
            "{}\n{}\nv1\n{id}",
            layout.path().display(),
            Path::new(&store_dir).display()
        )
    };
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..3)
        .map(|i| {
            Command::new(&exe)
                .env(CHILD_ENV, arg(&format!("p{i}")))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut unpacked = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        unpacked += String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse::<usize>()
            .unwrap();
    }
    assert_eq!(unpacked, 4, "layers unpacked, over all processes");
    let store = SnapshotStore::open(&store_dir).unwrap();
    assert_eq!(store.layers().unwrap().len(), 4);
    remove_all(&store, (0..3).map(|i| format!("p{i}")));
}
