//! Entry points for the fuzz targets in the workspace's `fuzz/` folder:
//! built only with the internal feature `__fuzz`, not part of the API.
//! Each takes untrusted bytes the client parses (what a registry, a token
//! server or a credentials file sends) and must neither panic nor hang on
//! any of them.

use std::path::Path;

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

use crate::auth::Token;
use crate::config::{entry_credentials, helper_program, keys_for, parse_file};
use crate::listing::{next_page, parse_next_link};

/// The page a listing was fetched from, as the client builds it.
const PAGE: &str = "https://registry.example:5000/v2/library/busybox/tags/list?n=100";

/// A `Link` header on a tag list, catalog or referrers page: the next
/// page, if any, is on the registry's own origin.
pub fn link_header(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let target = parse_next_link(text);
    if let Some(t) = &target {
        assert!(!t.contains('>'), "a target ends at the first '>'");
    }
    match next_page(PAGE, Some(text)) {
        Ok(Some(next)) => {
            assert!(target.is_some(), "a next page without a rel=next target");
            let url = reqwest::Url::parse(&next).expect("the next page is a URL");
            let base = reqwest::Url::parse(PAGE).expect("the page is a URL");
            assert_eq!(url.origin(), base.origin(), "a next page elsewhere: {next}");
        }
        Ok(None) => assert!(target.is_none(), "a rel=next target was dropped"),
        Err(_) => assert!(target.is_some(), "an error without a target"),
    }
    // As the value of a real header (the bytes reqwest would hand over).
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.insert("link", value);
        let _ = next_page(PAGE, crate::transport::header_str(&headers, "link"));
    }
}

/// A token endpoint's answer (`token`, `access_token`, `expires_in`,
/// `issued_at`): a token is usable as a header value and expires in the
/// future; a refusal never quotes the body.
pub fn token_response(data: &[u8]) {
    match Token::from_body(data) {
        Ok(t) => {
            assert!(t.header.starts_with("Bearer "));
            assert!(t.header.len() > "Bearer ".len());
            assert!(t.expires > std::time::Instant::now());
            assert!(HeaderValue::from_str(&t.header).is_ok(), "{:?}", t.header);
        }
        Err(why) => assert!(why.len() < 64, "{why}"),
    }
}

/// A `Retry-After` header on a 429 or 5xx: seconds or an HTTP date, at
/// most five minutes either way.
pub fn retry_after(data: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(RETRY_AFTER, value);
    if let Some(wait) = crate::retry::retry_after(&headers) {
        assert!(wait <= std::time::Duration::from_secs(300), "{wait:?}");
    }
}

/// A docker `config.json` or containers `auth.json`: parsed, every
/// `auths` entry decoded as a lookup decodes it, and every helper name
/// checked as a lookup checks it before running anything (no helper runs
/// here).
pub fn credential_file(data: &[u8]) {
    let Ok(file) = parse_file(data) else {
        return;
    };
    let path = Path::new("/home/user/.docker/config.json");
    for (key, entry) in &file.auths {
        let keys = keys_for(key);
        assert_eq!(keys.first(), Some(key), "a registry's own key comes first");
        let _ = entry_credentials(entry, path, key);
    }
    for helper in file.cred_helpers.values().chain(file.creds_store.iter()) {
        if let Some(program) = helper_program(Some(Path::new("/helpers")), helper) {
            assert_eq!(
                program.parent(),
                Some(Path::new("/helpers")),
                "helper {helper:?} leaves its directory"
            );
        }
    }
}
