#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| { let _ = oci_types::AnyManifest::from_slice(data, None); });
