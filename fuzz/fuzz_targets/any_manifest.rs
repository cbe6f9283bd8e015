#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| { let _ = ocikit_types::AnyManifest::from_slice(data, None); });
