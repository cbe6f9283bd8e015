//! Absolute URIs as RFC 3986 defines them (section 3, the `URI` rule), for
//! descriptors' `urls`.
//!
//! Written here rather than taken from the `url` crate: that crate follows
//! the WHATWG URL standard, which accepts what RFC 3986 forbids (spaces,
//! backslashes, non-ASCII, `%` not followed by two hex digits) and brings
//! ICU's crates along for one check.

/// Whether `s` is an absolute URI:
/// `scheme ":" hier-part [ "?" query ] [ "#" fragment ]` (RFC 3986 §3).
pub(crate) fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    if !is_scheme(scheme) {
        return false;
    }
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    let (hier, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    let tail_ok =
        |t: Option<&str>| t.is_none_or(|t| chars_ok(t, |c| is_pchar(c) || b"/?".contains(&c)));
    is_hier_part(hier) && tail_ok(query) && tail_ok(fragment)
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// `hier-part = "//" authority path-abempty / path-absolute /
/// path-rootless / path-empty`: after an authority the path is empty or
/// starts with `/`; without one, every path is `*( pchar / "/" )` (a path
/// starting `//` is an authority, read first).
fn is_hier_part(s: &str) -> bool {
    if let Some(after) = s.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        is_authority(&after[..end]) && is_path(&after[end..])
    } else {
        is_path(s)
    }
}

fn is_path(s: &str) -> bool {
    chars_ok(s, |c| is_pchar(c) || c == b'/')
}

/// `authority = [ userinfo "@" ] host [ ":" port ]`
fn is_authority(s: &str) -> bool {
    let (userinfo, hostport) = match s.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, s),
    };
    if userinfo.is_some_and(|u| !chars_ok(u, |c| is_unreserved(c) || is_sub_delim(c) || c == b':'))
    {
        return false;
    }
    // The port follows the last ':' outside an IP literal.
    let (host, port) = if hostport.starts_with('[') {
        match hostport.find(']') {
            Some(i) => match &hostport[i + 1..] {
                "" => (hostport, None),
                p => match p.strip_prefix(':') {
                    Some(port) => (&hostport[..=i], Some(port)),
                    None => return false,
                },
            },
            None => return false,
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit())) && is_host(host)
}

/// `host = IP-literal / IPv4address / reg-name` (an IPv4 address is also a
/// reg-name).
fn is_host(s: &str) -> bool {
    if let Some(literal) = s.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
        return literal.parse::<std::net::Ipv6Addr>().is_ok() || is_ip_future(literal);
    }
    chars_ok(s, |c| is_unreserved(c) || is_sub_delim(c))
}

/// `IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )`
fn is_ip_future(s: &str) -> bool {
    let Some(rest) = s.strip_prefix(['v', 'V']) else {
        return false;
    };
    let Some((version, text)) = rest.split_once('.') else {
        return false;
    };
    !version.is_empty()
        && version.bytes().all(|b| b.is_ascii_hexdigit())
        && !text.is_empty()
        && text
            .bytes()
            .all(|c| is_unreserved(c) || is_sub_delim(c) || c == b':')
}

/// Whether every character of `s` is `%` HEXDIG HEXDIG or passes `ok`.
fn chars_ok(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if !(i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()) {
                return false;
            }
            i += 3;
        } else if ok(b[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// `pchar = unreserved / pct-encoded / sub-delims / ":" / "@"` (without
/// pct-encoded, which [`chars_ok`] reads).
fn is_pchar(c: u8) -> bool {
    is_unreserved(c) || is_sub_delim(c) || c == b':' || c == b'@'
}

/// `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`
fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~".contains(&c)
}

/// `sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="`
fn is_sub_delim(c: u8) -> bool {
    b"!$&'()*+,;=".contains(&c)
}

#[cfg(test)]
mod tests {
    use super::is_uri;
    use proptest::prelude::*;

    #[test]
    fn absolute_uris_of_every_shape() {
        for u in [
            "https://example.com/a/b?c=d#e",
            "http://127.0.0.1:5000/v2/",
            "http://[::1]:5000/x",
            "http://[2001:db8::7]/c=GB?objectClass?one",
            "http://[v7.fe80::1]/",
            "https://user:pa%20ss@host/",
            "file:///tmp/layer.tar",
            "urn:oasis:names:specification:docbook:dtd:xml:4.1.2",
            "mailto:John.Doe@example.com",
            "s3://bucket/key%20with%20escapes",
            "tel:+1-816-555-1212",
            "news:comp.infosystems.www.servers.unix",
            "http://example.com",
            "http://example.com:",
            "a:",
            "http://x/?q=/a?b#f/?",
        ] {
            assert!(is_uri(u), "{u} is a URI");
        }
    }

    #[test]
    fn what_rfc_3986_forbids() {
        for u in [
            "",
            "not a url",
            "example.com/path",
            "://example.com",
            "1http://example.com",
            "ht tp://example.com",
            "http://exa mple.com/",
            "http://example.com/a b",
            "http://example.com/\\windows",
            "https://example.com/ä",
            "http://example.com/%zz",
            "http://example.com/%4",
            "http://example.com/a#b#c",
            "http://a:b:c/",
            "http://example.com:80a/",
            "http://[::g]/",
            "http://[::1/",
            "http://[::1]x/",
            "http://a@b@c/",
            "http://example.com/<script>",
            "http://example.com/\"",
            "http://example.com/{}",
        ] {
            assert!(!is_uri(u), "{u:?} is not a URI");
        }
    }

    fn pchar() -> impl Strategy<Value = String> {
        prop_oneof!["[A-Za-z0-9._~!$&'()*+,;=:@-]", "%[0-9A-Fa-f]{2}",]
    }

    fn segment() -> impl Strategy<Value = String> {
        proptest::collection::vec(pchar(), 0..6).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn grammar_generated_uris_are_accepted(
            scheme in "[a-z][a-z0-9+.-]{0,8}",
            host in "[a-z0-9.-]{0,12}",
            port in proptest::option::of(0u32..70000),
            segments in proptest::collection::vec(segment(), 0..4),
            query in proptest::option::of(segment()),
            fragment in proptest::option::of(segment()),
        ) {
            let mut u = format!("{scheme}://{host}");
            if let Some(p) = port {
                u.push_str(&format!(":{p}"));
            }
            for s in &segments {
                u.push('/');
                u.push_str(s);
            }
            if let Some(q) = query {
                u.push('?');
                u.push_str(&q);
            }
            if let Some(f) = fragment {
                u.push('#');
                u.push_str(&f);
            }
            prop_assert!(is_uri(&u), "{}", u);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,64}") {
            let _ = is_uri(&s);
        }
    }
}
