#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(challenges) = ocikit_types::Challenge::parse_header(s) {
            assert!(!challenges.is_empty());
        }
    }
});
