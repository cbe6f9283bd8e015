use super::*;
use proptest::prelude::*;

const SHA: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
const SHA512: &str = concat!(
    "sha512:",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
);

/// Input, registry, repository, tag, digest.
type Good = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    bool,
);

fn good() -> Vec<(
    String,
    &'static str,
    &'static str,
    Option<&'static str>,
    bool,
)> {
    let table: &[Good] = &[
        (
            "test_com",
            "docker.io",
            "library/test_com",
            Some("latest"),
            false,
        ),
        (
            "test.com:tag",
            "docker.io",
            "library/test.com",
            Some("tag"),
            false,
        ),
        (
            "test.com:5000",
            "docker.io",
            "library/test.com",
            Some("5000"),
            false,
        ),
        ("test.com/repo:tag", "test.com", "repo", Some("tag"), false),
        ("test:5000/repo", "test:5000", "repo", Some("latest"), false),
        (
            "test:5000/repo:tag",
            "test:5000",
            "repo",
            Some("tag"),
            false,
        ),
        (
            "lowercase:Uppercase",
            "docker.io",
            "library/lowercase",
            Some("Uppercase"),
            false,
        ),
        (
            "sub-dom1.foo.com/bar/baz/quux",
            "sub-dom1.foo.com",
            "bar/baz/quux",
            Some("latest"),
            false,
        ),
        (
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
            "sub-dom1.foo.com",
            "bar/baz/quux",
            Some("some-long-tag"),
            false,
        ),
        (
            "b.gcr.io/test.example.com/my-app:test.example.com",
            "b.gcr.io",
            "test.example.com/my-app",
            Some("test.example.com"),
            false,
        ),
        (
            "xn--n3h.com/myimage:xn--n3h.com",
            "xn--n3h.com",
            "myimage",
            Some("xn--n3h.com"),
            false,
        ),
        (
            "foo_bar.com:8080",
            "docker.io",
            "library/foo_bar.com",
            Some("8080"),
            false,
        ),
        (
            "foo/foo_bar.com:8080",
            "docker.io",
            "foo/foo_bar.com",
            Some("8080"),
            false,
        ),
        (
            "a__b/c-d--e/f.g_h",
            "docker.io",
            "a__b/c-d--e/f.g_h",
            Some("latest"),
            false,
        ),
        ("localhost/foo", "localhost", "foo", Some("latest"), false),
        (
            "localhost:5000/foo/bar:_tag",
            "localhost:5000",
            "foo/bar",
            Some("_tag"),
            false,
        ),
        (
            "localhost:5000",
            "docker.io",
            "library/localhost",
            Some("5000"),
            false,
        ),
        (
            "[2001:db8::1]/repo",
            "[2001:db8::1]",
            "repo",
            Some("latest"),
            false,
        ),
        (
            "[2001:db8::1]:5000/repo:tag",
            "[2001:db8::1]:5000",
            "repo",
            Some("tag"),
            false,
        ),
        ("[::1]:5000/a", "[::1]:5000", "a", Some("latest"), false),
        ("Foo/bar", "Foo", "bar", Some("latest"), false),
        (
            "UPPER.example/x",
            "UPPER.example",
            "x",
            Some("latest"),
            false,
        ),
        (
            "1a.example.com/x",
            "1a.example.com",
            "x",
            Some("latest"),
            false,
        ),
        (
            "index.docker.io/busybox",
            "docker.io",
            "library/busybox",
            Some("latest"),
            false,
        ),
        (
            "index.docker.io/user/app:1",
            "docker.io",
            "user/app",
            Some("1"),
            false,
        ),
        (
            "docker.io/busybox",
            "docker.io",
            "library/busybox",
            Some("latest"),
            false,
        ),
        (
            "docker.io/library/busybox",
            "docker.io",
            "library/busybox",
            Some("latest"),
            false,
        ),
        (
            "docker.io/library/a/b",
            "docker.io",
            "library/a/b",
            Some("latest"),
            false,
        ),
        (
            "registry-1.docker.io/library/busybox",
            "registry-1.docker.io",
            "library/busybox",
            Some("latest"),
            false,
        ),
        ("user/app", "docker.io", "user/app", Some("latest"), false),
        (
            "busybox:1.36.1-musl",
            "docker.io",
            "library/busybox",
            Some("1.36.1-musl"),
            false,
        ),
    ];
    let mut rows: Vec<_> = table
        .iter()
        .map(|&(s, reg, repo, tag, dig)| (s.to_owned(), reg, repo, tag, dig))
        .collect();
    rows.push((
        format!("test:5000/repo@{SHA}"),
        "test:5000",
        "repo",
        None,
        true,
    ));
    rows.push((
        format!("test:5000/repo:tag@{SHA}"),
        "test:5000",
        "repo",
        Some("tag"),
        true,
    ));
    rows.push((
        format!("busybox@{SHA}"),
        "docker.io",
        "library/busybox",
        None,
        true,
    ));
    rows.push((
        format!("xn--7o8h.com/myimage:xn--7o8h.com@{SHA512}"),
        "xn--7o8h.com",
        "myimage",
        Some("xn--7o8h.com"),
        true,
    ));
    rows.push((
        format!("repo:{}", "t".repeat(128)),
        "docker.io",
        "library/repo",
        Some(""),
        false,
    ));
    rows.push((
        format!("{}/{}", "a".repeat(200), "b".repeat(44)),
        "docker.io",
        "",
        Some("latest"),
        false,
    ));
    rows
}

#[test]
fn parses_good_references() {
    for (input, registry, repository, tag, has_digest) in good() {
        let r: Reference = input
            .parse()
            .unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
        assert_eq!(r.registry(), registry, "{input}");
        if !repository.is_empty() {
            assert_eq!(r.repository(), repository, "{input}");
        }
        match tag {
            Some("") => assert_eq!(r.tag().map(str::len), Some(128)),
            _ => assert_eq!(r.tag(), tag, "{input}"),
        }
        assert_eq!(r.digest().is_some(), has_digest, "{input}");
        // The canonical and short forms both parse back to the same value.
        assert_eq!(r.to_string().parse::<Reference>().unwrap(), r, "{input}");
        assert_eq!(r.familiar().parse::<Reference>().unwrap(), r, "{input}");
    }
}

#[test]
fn rejects_bad_references() {
    let long_tag = format!("repo:{}", "t".repeat(129));
    let long_name = "a".repeat(256);
    // docker.io/library/ counts: this is 238 + 18 = 256 characters.
    let long_official = "a".repeat(238);
    let short_digest = "repo@sha256:ffff".to_owned();
    let table: Vec<(String, usize, &str)> = vec![
        ("".into(), 0, "a repository name"),
        (
            ":justtag".into(),
            0,
            "a repository component starting with [a-z0-9]",
        ),
        (
            format!("@{SHA}"),
            0,
            "a repository component starting with [a-z0-9]",
        ),
        (
            "Uppercase:tag".into(),
            0,
            "a lowercase repository component",
        ),
        (
            "test:5000/Uppercase/lowercase:tag".into(),
            10,
            "a lowercase repository component",
        ),
        ("team/App".into(), 5, "a lowercase repository component"),
        (
            "aa/asdf$$^/aa".into(),
            7,
            "repository characters [a-z0-9._-], /, :tag or @digest",
        ),
        (
            "-foo".into(),
            0,
            "a repository component starting with [a-z0-9]",
        ),
        (
            "foo-/bar".into(),
            4,
            "[a-z0-9] after a separator in the repository name",
        ),
        (
            "foo___bar".into(),
            5,
            "[a-z0-9] after a separator in the repository name",
        ),
        (
            "foo._bar".into(),
            4,
            "[a-z0-9] after a separator in the repository name",
        ),
        (
            "foo//bar".into(),
            4,
            "a repository component starting with [a-z0-9]",
        ),
        (
            "foo/".into(),
            4,
            "a repository component starting with [a-z0-9]",
        ),
        (
            "/foo".into(),
            0,
            "a repository component starting with [a-z0-9]",
        ),
        (
            "foo:bar:baz".into(),
            7,
            "tag characters [A-Za-z0-9_.-], then @digest or the end",
        ),
        ("repo:".into(), 5, "a tag after :"),
        (format!("repo:@{SHA}"), 5, "a tag after :"),
        ("repo:.tag".into(), 5, "a tag starting with [A-Za-z0-9_]"),
        (long_tag, 5, "a tag of at most 128 characters"),
        ("repo@".into(), 5, "a digest after @"),
        ("busybox:latest@".into(), 15, "a digest after @"),
        (short_digest, 5, "64 hex characters for sha256"),
        ("repo@sha256".into(), 5, "`algorithm:encoded` with a colon"),
        (long_name, 0, "a name of at most 255 characters"),
        (long_official, 0, "a name of at most 255 characters"),
        (
            "f".repeat(64),
            0,
            "a repository name, not a 64-character hexadecimal image id",
        ),
        (
            "[fe80::1%eth0]:5000/foo".into(),
            8,
            "a closing bracket after the IPv6 address",
        ),
        (
            "[]:5000/foo".into(),
            1,
            "an IPv6 address of [0-9A-Fa-f:] inside the brackets",
        ),
        ("[::1]:port/foo".into(), 6, "a port number after the colon"),
        ("host:/foo".into(), 5, "a port number after the colon"),
        (
            "-host.com/foo".into(),
            0,
            "a registry host component starting with a letter or digit",
        ),
        (
            "host-.com/foo".into(),
            4,
            "a registry host component ending with a letter or digit",
        ),
        (
            "host..com/foo".into(),
            5,
            "a registry host component starting with a letter or digit",
        ),
        (
            "host_x.com/foo".into(),
            4,
            "a registry host and optional :port before the /",
        ),
        (
            "host.com:50a/foo".into(),
            11,
            "a registry host and optional :port before the /",
        ),
        (
            "é/foo".into(),
            0,
            "a repository component starting with [a-z0-9]",
        ),
        (
            "foo/bäz".into(),
            5,
            "repository characters [a-z0-9._-], /, :tag or @digest",
        ),
        (
            "foo:tägg".into(),
            5,
            "tag characters [A-Za-z0-9_.-], then @digest or the end",
        ),
        (
            "foo bar".into(),
            3,
            "repository characters [a-z0-9._-], /, :tag or @digest",
        ),
    ];
    for (input, position, expected) in table {
        match input.parse::<Reference>() {
            Err(Error::InvalidReference {
                input: i,
                position: p,
                expected: e,
            }) => {
                assert_eq!(i, input);
                assert_eq!((p, e), (position, expected), "{input:?}");
            }
            other => panic!("{input:?} should be rejected, got {other:?}"),
        }
    }
}

#[test]
fn display_familiar_and_api_host() {
    let cases = [
        (
            "busybox",
            "docker.io/library/busybox:latest",
            "busybox:latest",
        ),
        ("user/app", "docker.io/user/app:latest", "user/app:latest"),
        ("library/a/b:1", "docker.io/library/a/b:1", "library/a/b:1"),
        (
            "docker.io/a.b/c",
            "docker.io/a.b/c:latest",
            "docker.io/a.b/c:latest",
        ),
        ("host:5000/a/b:t", "host:5000/a/b:t", "host:5000/a/b:t"),
    ];
    for (input, canonical, familiar) in cases {
        let r: Reference = input.parse().unwrap();
        assert_eq!(r.to_string(), canonical);
        assert_eq!(r.as_ref(), canonical);
        assert_eq!(r.familiar(), familiar);
    }
    let r: Reference = format!("host:5000/a/b@{SHA}").parse().unwrap();
    assert_eq!(r.to_string(), format!("host:5000/a/b@{SHA}"));
    assert_eq!(r.api_host(), "host:5000");
    assert!(!r.is_docker_hub());
    let r: Reference = format!("host.example/a:tag@{SHA}").parse().unwrap();
    assert_eq!(r.to_string(), format!("host.example/a:tag@{SHA}"));
    assert_eq!(r.name(), "host.example/a");
    let r: Reference = "index.docker.io/user/app".parse().unwrap();
    assert!(r.is_docker_hub());
    assert_eq!(r.api_host(), "registry-1.docker.io");
}

#[test]
fn with_tag_and_digest() {
    let r: Reference = "busybox".parse().unwrap();
    let d: Digest = SHA.parse().unwrap();
    let pinned = r.with_digest(d.clone());
    assert_eq!(
        pinned.to_string(),
        format!("docker.io/library/busybox:latest@{SHA}")
    );
    let retagged = pinned.with_tag("1.36").unwrap();
    assert_eq!(retagged.tag(), Some("1.36"));
    assert_eq!(retagged.digest(), Some(&d));
    assert_eq!(retagged.familiar(), format!("busybox:1.36@{SHA}"));
    for (bad, position) in [("", 0), (".x", 0), ("a b", 1), ("a@b", 1)] {
        match r.with_tag(bad) {
            Err(Error::InvalidReference {
                input, position: p, ..
            }) => {
                assert_eq!((input.as_str(), p), (bad, position));
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert!(r.with_tag(&"t".repeat(129)).is_err());
}

#[test]
fn serde_and_conversions() {
    let r: Reference = "ghcr.io/o/app:v1".parse().unwrap();
    let j = serde_json::to_string(&r).unwrap();
    assert_eq!(j, "\"ghcr.io/o/app:v1\"");
    assert_eq!(serde_json::from_str::<Reference>(&j).unwrap(), r);
    assert!(serde_json::from_str::<Reference>("\"Bad/Ref/X\"").is_err());
    assert_eq!(
        Reference::try_from("ghcr.io/o/app:v1".to_owned()).unwrap(),
        r
    );
    assert_eq!(String::from(r.clone()), "ghcr.io/o/app:v1");
    assert_eq!(format!("{r:?}"), "Reference(\"ghcr.io/o/app:v1\")");
    let a: Reference = "a".parse().unwrap();
    let b: Reference = "b".parse().unwrap();
    assert!(a < b);
}

fn path_component(first: bool) -> impl Strategy<Value = String> {
    // Without a registry, a `.` in the first component would make it one.
    if first {
        "[a-z0-9]{1,4}((_|__|-{1,2})[a-z0-9]{1,4}){0,2}".boxed()
    } else {
        "[a-z0-9]{1,4}(([._]|__|-{1,2})[a-z0-9]{1,4}){0,2}".boxed()
    }
}

fn reference_parts(
) -> impl Strategy<Value = (Option<String>, String, Option<String>, Option<String>)> {
    let registry = prop_oneof![
        Just(None),
        "[a-z0-9]([a-zA-Z0-9-]{0,4}[a-z0-9])?(\\.[a-zA-Z0-9]([a-z0-9-]{0,3}[a-zA-Z0-9])?){1,2}(:[0-9]{1,5})?"
            .prop_map(Some),
        "localhost(:[0-9]{1,5})?".prop_map(Some),
        "[a-z]{1,5}:[0-9]{1,5}".prop_map(Some),
        "\\[[0-9a-fA-F]{0,4}:[0-9a-fA-F:]{0,10}\\](:[0-9]{1,4})?".prop_map(Some),
    ];
    let rest = proptest::collection::vec(path_component(false), 0..3);
    let tag = proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    let digest = proptest::option::of("[0-9a-f]{64}".prop_map(|h| format!("sha256:{h}")));
    (
        registry,
        path_component(true),
        path_component(false),
        rest,
        tag,
        digest,
    )
        .prop_map(
            |(registry, first, first_after_registry, rest, tag, digest)| {
                let mut components = vec![if registry.is_some() {
                    first_after_registry
                } else {
                    first
                }];
                components.extend(rest);
                (registry, components.join("/"), tag, digest)
            },
        )
}

proptest! {
    #[test]
    fn round_trips((registry, path, tag, digest) in reference_parts()) {
        let mut s = String::new();
        if let Some(r) = &registry {
            s.push_str(r);
            s.push('/');
        }
        s.push_str(&path);
        if let Some(t) = &tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &digest {
            s.push('@');
            s.push_str(d);
        }
        let r: Reference = s.parse().map_err(|e| TestCaseError::fail(format!("{s:?}: {e}")))?;
        prop_assert_eq!(r.registry(), registry.as_deref().unwrap_or("docker.io"));
        prop_assert!(r.repository().ends_with(path.as_str()));
        let expected_tag = match (&tag, &digest) {
            (None, None) => Some("latest"),
            (t, _) => t.as_deref(),
        };
        prop_assert_eq!(r.tag(), expected_tag);
        prop_assert_eq!(r.digest().map(Digest::as_str), digest.as_deref());
        let back: Reference = r.to_string().parse().unwrap();
        prop_assert_eq!(back.to_string(), r.to_string());
        prop_assert_eq!(&back, &r);
        prop_assert_eq!(r.familiar().parse::<Reference>().unwrap(), r.clone());
        let j = serde_json::to_string(&r).unwrap();
        prop_assert_eq!(serde_json::from_str::<Reference>(&j).unwrap(), r);
    }

    #[test]
    fn never_panics(s in "\\PC{0,100}") {
        if let Ok(r) = s.parse::<Reference>() {
            prop_assert_eq!(r.to_string().parse::<Reference>().unwrap(), r);
        }
    }

    #[test]
    fn never_panics_near_the_grammar(s in "[a-zA-Z0-9:/@._\\-\\[\\]é ]{0,60}") {
        if let Ok(r) = s.parse::<Reference>() {
            prop_assert_eq!(r.to_string().parse::<Reference>().unwrap(), r.clone());
            prop_assert_eq!(r.familiar().parse::<Reference>().unwrap(), r);
        }
    }
}
