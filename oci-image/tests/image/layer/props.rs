//! Property tests: arbitrary trees round trip; arbitrary bytes never
//! panic and never write outside the root.

use std::collections::BTreeMap;
use std::fs;

use ocikit_image::{pack, unpack, PackOptions, UnpackOptions};
use ocikit_types::Compression;
use proptest::prelude::*;

use crate::layer::common::{snapshot, RawTar, Sandbox};

fn tree() -> impl Strategy<Value = BTreeMap<Vec<String>, Vec<u8>>> {
    proptest::collection::btree_map(
        proptest::collection::vec("[a-zA-Z0-9_ .-]{1,12}", 1..4),
        proptest::collection::vec(any::<u8>(), 0..2000),
        0..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    fn arbitrary_trees_round_trip(files in tree()) {
        let src = tempfile::tempdir().unwrap();
        for (path, data) in &files {
            if path.iter().any(|c| c == "." || c == ".." || c.starts_with(".wh.")) {
                continue;
            }
            let p = path.iter().fold(src.path().to_owned(), |p, c| p.join(c));
            // A prefix may already be a file: skip what cannot exist.
            if fs::create_dir_all(p.parent().unwrap()).is_err() || p.is_dir() {
                continue;
            }
            fs::write(&p, data).unwrap();
        }
        let mut blob = Vec::new();
        let mut po = PackOptions::new();
        po.compression(Compression::Zstd);
        let packed = pack(src.path(), &mut blob, &po).unwrap();
        let dst = tempfile::tempdir().unwrap();
        let r = unpack(&blob[..], dst.path(), &UnpackOptions::new()).unwrap();
        prop_assert_eq!(r.diff_id, packed.diff_id);
        prop_assert_eq!(snapshot(dst.path()), snapshot(src.path()));
    }

    fn arbitrary_bytes_never_escape(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let s = Sandbox::new();
        let _ = s.unpack(&bytes, &UnpackOptions::new());
        s.assert_outside_intact();
    }

    fn mutated_hostile_layers_never_escape(
        flips in proptest::collection::vec((0usize..8192, any::<u8>()), 1..16),
    ) {
        let s = Sandbox::new();
        let mut layer = RawTar::new()
            .symlink("evil", s.outside().to_str().unwrap())
            .file("evil/x", "data")
            .symlink("up", "../..")
            .file("a/b", "c")
            .hardlink("h", "a/b")
            .file("a/.wh.b", "")
            .file("x/.wh..wh..opq", "")
            .finish();
        for (at, byte) in flips {
            let n = layer.len();
            layer[at % n] = byte;
        }
        let _ = s.unpack(&layer, &UnpackOptions::new());
        s.assert_outside_intact();
    }
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    arbitrary_trees_round_trip,
    arbitrary_bytes_never_escape,
    mutated_hostile_layers_never_escape
];
