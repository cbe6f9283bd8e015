#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ocikit_fuzz::document::<ocikit_types::Catalog>(data));
