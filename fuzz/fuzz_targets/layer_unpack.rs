#![no_main]
//! A fuzzed layer (any compression) applied to a temp root must never
//! touch anything outside it, with whiteouts applied and in the overlay
//! format (as the snapshot store unpacks).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let sandbox = tempfile::tempdir().expect("temp dir");
    let root = sandbox.path().join("root");
    let outside = sandbox.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("sentinel"), b"untouched").unwrap();
    for mode in [
        ocikit_image::WhiteoutMode::Apply,
        ocikit_image::WhiteoutMode::Overlay,
    ] {
        let mut options = ocikit_image::UnpackOptions::new();
        options
            .max_size(16 << 20)
            .max_entries(10_000)
            .whiteout_mode(mode);
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::create_dir(&root).unwrap();
        let _ = ocikit_image::unpack(data, &root, &options);
    }
    // Nothing new beside root/ and outside/, and the sentinel unchanged.
    let mut names: Vec<_> = std::fs::read_dir(sandbox.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["outside", "root"], "an entry escaped the root");
    let inside: Vec<_> = std::fs::read_dir(&outside).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(inside, ["sentinel"], "something was written outside the root");
    assert_eq!(std::fs::read(outside.join("sentinel")).unwrap(), b"untouched");
});
