use super::*;
use proptest::prelude::*;

fn p(s: &str) -> Platform {
    s.parse()
        .unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

fn all(specs: &[&str]) -> Vec<Platform> {
    specs.iter().map(|s| p(s)).collect()
}

#[test]
fn normalises_names_people_write() {
    // (os, arch, variant) written -> (os, arch, variant) normalised.
    let table = [
        (("linux", "x86_64", ""), ("linux", "amd64", "")),
        (("linux", "x86-64", ""), ("linux", "amd64", "")),
        (("linux", "AMD64", "v1"), ("linux", "amd64", "")),
        (("linux", "amd64", "v3"), ("linux", "amd64", "v3")),
        (("linux", "aarch64", ""), ("linux", "arm64", "")),
        (("linux", "arm64", "v8"), ("linux", "arm64", "")),
        (("linux", "arm64", "8"), ("linux", "arm64", "")),
        (("linux", "arm64", "v8.0"), ("linux", "arm64", "")),
        (("linux", "arm64", "v8.2"), ("linux", "arm64", "v8.2")),
        (("linux", "arm64", "9"), ("linux", "arm64", "v9")),
        (("linux", "aarch64", "v9.0"), ("linux", "arm64", "v9")),
        (("linux", "armhf", ""), ("linux", "arm", "v7")),
        (("linux", "armhf", "v6"), ("linux", "arm", "v7")),
        (("linux", "armel", ""), ("linux", "arm", "v6")),
        (("linux", "arm", ""), ("linux", "arm", "v7")),
        (("linux", "arm", "7"), ("linux", "arm", "v7")),
        (("linux", "arm", "5"), ("linux", "arm", "v5")),
        (("linux", "arm", "6"), ("linux", "arm", "v6")),
        (("linux", "arm", "8"), ("linux", "arm", "v8")),
        (("linux", "ARM", "V6"), ("linux", "arm", "v6")),
        (("linux", "i386", ""), ("linux", "386", "")),
        (("linux", "i486", ""), ("linux", "386", "")),
        (("linux", "i586", ""), ("linux", "386", "")),
        (("linux", "i686", "whatever"), ("linux", "386", "")),
        (("linux", "386", ""), ("linux", "386", "")),
        (("Linux", "s390x", ""), ("linux", "s390x", "")),
        (("macos", "arm64", ""), ("darwin", "arm64", "")),
        (("MacOS", "x86_64", ""), ("darwin", "amd64", "")),
        (("Windows", "amd64", ""), ("windows", "amd64", "")),
        (
            ("linux", "riscv64", "rva22u64"),
            ("linux", "riscv64", "rva22u64"),
        ),
    ];
    for ((os, arch, variant), (n_os, n_arch, n_variant)) in table {
        let mut written = Platform::new(os, arch);
        written.variant = (!variant.is_empty()).then(|| variant.to_owned());
        let n = written.normalized();
        let got = (
            n.os.as_str(),
            n.architecture.as_str(),
            n.variant.as_deref().unwrap_or(""),
        );
        assert_eq!(got, (n_os, n_arch, n_variant), "{os}/{arch}/{variant}");
        assert_eq!(n.normalized(), n, "normalising twice");
    }
}

#[test]
fn normalising_keeps_other_fields() {
    let mut w = Platform::new("Windows", "x86_64");
    w.os_version = Some("10.0.20348.2113".into());
    w.os_features = vec!["win32k".into()];
    let n = w.normalized();
    assert_eq!(n.os_version, w.os_version);
    assert_eq!(n.os_features, w.os_features);
}

#[test]
fn parses_and_displays() {
    let table = [
        ("linux/amd64", "linux/amd64"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/arm64", "linux/arm64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/armhf", "linux/arm/v7"),
        ("linux/arm/v6", "linux/arm/v6"),
        ("windows/amd64", "windows/amd64"),
        ("windows(10.0.17763.1)/amd64", "windows(10.0.17763.1)/amd64"),
        ("windows()/amd64", "windows/amd64"),
        ("macos/arm64", "darwin/arm64"),
        ("linux/amd64/v3", "linux/amd64/v3"),
        ("linux/amd64/v1", "linux/amd64"),
    ];
    for (input, shown) in table {
        assert_eq!(p(input).to_string(), shown, "{input}");
        assert_eq!(p(shown), p(input), "{input}");
    }
    let w = p("windows(10.0.17763.1)/amd64");
    assert_eq!(w.os, "windows");
    assert_eq!(w.os_version.as_deref(), Some("10.0.17763.1"));
}

#[test]
fn rejects_bad_strings() {
    let table = [
        ("", "`os/arch` or `os/arch/variant`"),
        ("linux", "`os/arch` or `os/arch/variant`"),
        ("linux/arm/v7/extra", "`os/arch` or `os/arch/variant`"),
        ("/amd64", "an os of [A-Za-z0-9_-]"),
        ("lin.ux/amd64", "an os of [A-Za-z0-9_-]"),
        ("linux/", "an architecture of [A-Za-z0-9_.-]"),
        ("linux/am d64", "an architecture of [A-Za-z0-9_.-]"),
        ("linux/arm/", "a variant of [A-Za-z0-9_.-]"),
        ("linux/arm/v*", "a variant of [A-Za-z0-9_.-]"),
        (
            "windows(10.0/amd64",
            "an os version of [A-Za-z0-9_.-] closed by )",
        ),
        (
            "windows(1 0)/amd64",
            "an os version of [A-Za-z0-9_.-] closed by )",
        ),
        (
            "windows(1)(2)/amd64",
            "an os version of [A-Za-z0-9_.-] closed by )",
        ),
        ("linüx/amd64", "an os of [A-Za-z0-9_-]"),
    ];
    for (input, expected) in table {
        match input.parse::<Platform>() {
            Err(Error::InvalidPlatform {
                input: i,
                expected: e,
            }) => {
                assert_eq!((i.as_str(), e), (input, expected));
            }
            other => panic!("{input:?} should be rejected, got {other:?}"),
        }
    }
}

#[test]
fn host_is_normalised_and_known() {
    let h = Platform::host();
    assert_eq!(h, h.normalized());
    assert!(!h.os.is_empty() && !h.architecture.is_empty());
    assert_ne!(h.os, "macos");
    assert!(!["x86_64", "aarch64", "x86"].contains(&h.architecture.as_str()));
    assert!(h.matches(&h));
}

#[test]
fn arm_falls_back_from_v7_to_v6_to_v5() {
    let want = p("linux/arm/v7");
    let mut index = all(&[
        "linux/arm/v5",
        "linux/amd64",
        "linux/arm/v6",
        "linux/arm/v7",
    ]);
    assert_eq!(want.best_match(&index), Some(3));
    index.pop();
    assert_eq!(want.best_match(&index), Some(2));
    index.remove(2);
    assert_eq!(want.best_match(&index), Some(0));
    assert!(!want.matches(&p("linux/arm/v8")));
    assert!(!want.matches(&p("linux/arm64")));
    assert!(!p("linux/arm/v5").matches(&p("linux/arm/v6")));
    // An index entry with no variant is arm/v7.
    assert!(want.matches(&Platform::new("linux", "arm")));
}

#[test]
fn arm64_accepts_v8_and_no_variant_then_arm() {
    let want = p("linux/arm64/v8");
    assert!(want.matches(&Platform::new("linux", "arm64")));
    let mut v8 = Platform::new("linux", "aarch64");
    v8.variant = Some("v8".into());
    assert!(want.matches(&v8));
    assert!(!want.matches(&p("linux/arm64/v8.2")));
    let index = all(&["linux/arm/v6", "linux/arm/v7", "linux/arm64"]);
    assert_eq!(want.best_match(&index), Some(2));
    assert_eq!(want.best_match(&index[..2]), Some(1));
    // v8.2 runs v8.2, v8.1, v8; v9.1 runs v9.1, v9, v8.6 ... v8.
    let v82 = p("linux/arm64/v8.2");
    assert!(v82.matches(&p("linux/arm64/v8.1")) && v82.matches(&p("linux/arm64")));
    assert!(!v82.matches(&p("linux/arm64/v8.3")));
    let v91 = p("linux/arm64/v9.1");
    let index = all(&[
        "linux/arm64",
        "linux/arm64/v8.6",
        "linux/arm64/v8.7",
        "linux/arm64/v9",
    ]);
    assert_eq!(v91.best_match(&index), Some(3));
    assert_eq!(v91.best_match(&index[..3]), Some(1));
}

#[test]
fn amd64_falls_back_downward_then_to_386() {
    let want = p("linux/amd64/v3");
    let index = all(&[
        "linux/386",
        "linux/amd64",
        "linux/amd64/v2",
        "linux/amd64/v4",
    ]);
    assert_eq!(want.best_match(&index), Some(2));
    assert_eq!(want.best_match(&index[..2]), Some(1));
    assert_eq!(want.best_match(&index[..1]), Some(0));
    assert!(want.matches(&p("linux/amd64/v1")));
    assert!(!want.matches(&p("linux/amd64/v4")));
    assert!(!p("linux/amd64").matches(&p("linux/amd64/v2")));
    assert!(!p("linux/386").matches(&p("linux/amd64")));
}

#[test]
fn os_must_agree_and_ties_go_first() {
    let want = p("linux/amd64");
    assert!(!want.matches(&p("windows/amd64")));
    assert!(!want.matches(&p("darwin/amd64")));
    let index = all(&["windows/amd64", "linux/amd64", "linux/x86_64"]);
    assert_eq!(want.best_match(&index), Some(1));
    assert_eq!(want.best_match(std::iter::empty()), None);
    // os.version is ignored outside Windows.
    let mut versioned = p("linux/amd64");
    versioned.os_version = Some("5.15".into());
    assert!(want.matches(&versioned));
}

#[test]
fn windows_os_version() {
    let host = p("windows(10.0.17763.1234)/amd64");
    assert!(host.matches(&p("windows(10.0.17763.1)/amd64")));
    assert!(host.matches(&p("windows/amd64")));
    assert!(!host.matches(&p("windows(10.0.20348.1)/amd64")));
    assert!(!host.matches(&p("windows(10.0.14393.1)/amd64")));
    assert!(!host.matches(&p("windows(6.3.17763.1)/amd64")));
    // From Windows Server 2022 on, older builds back to 2022's run too.
    let new_host = p("windows(10.0.26100.1)/amd64");
    assert!(new_host.matches(&p("windows(10.0.20348.2113)/amd64")));
    assert!(!new_host.matches(&p("windows(10.0.17763.1)/amd64")));
    assert!(!new_host.matches(&p("windows(10.0.26200.1)/amd64")));
    // Exact first, then the same build, then the highest revision.
    let index = all(&[
        "windows/amd64",
        "windows(10.0.17763.5)/amd64",
        "windows(10.0.17763.1234)/amd64",
        "windows(10.0.17763.9)/amd64",
    ]);
    assert_eq!(host.best_match(&index), Some(2));
    assert_eq!(host.best_match(&index[..2]), Some(1));
    let index = all(&["windows(10.0.17763.5)/amd64", "windows(10.0.17763.9)/amd64"]);
    assert_eq!(p("windows/amd64").best_match(&index), Some(1));
    // The architecture still comes first.
    let index = all(&[
        "windows(10.0.17763.1234)/386",
        "windows(10.0.17763.1)/amd64",
    ]);
    assert_eq!(host.best_match(&index), Some(1));
}

fn platform_string() -> impl Strategy<Value = String> {
    let os = prop_oneof![
        Just("linux".to_owned()),
        Just("Windows".to_owned()),
        Just("macos".to_owned()),
        "[A-Za-z0-9_-]{1,8}",
    ];
    let version = proptest::option::of("[A-Za-z0-9_.-]{0,12}");
    let arch = prop_oneof![
        Just("x86_64".to_owned()),
        Just("aarch64".to_owned()),
        Just("arm".to_owned()),
        Just("armhf".to_owned()),
        Just("i686".to_owned()),
        Just("amd64".to_owned()),
        "[A-Za-z0-9_.-]{1,8}",
    ];
    let variant = proptest::option::of(prop_oneof![
        Just("v8".to_owned()),
        Just("7".to_owned()),
        Just("v1".to_owned()),
        "[A-Za-z0-9_.-]{1,6}",
    ]);
    (os, version, arch, variant).prop_map(|(os, version, arch, variant)| {
        let mut s = os;
        if let Some(v) = version {
            s.push_str(&format!("({v})"));
        }
        s.push('/');
        s.push_str(&arch);
        if let Some(v) = variant {
            s.push('/');
            s.push_str(&v);
        }
        s
    })
}

proptest! {
    #[test]
    fn display_round_trips_normalised(s in platform_string()) {
        let parsed: Platform = s.parse().map_err(|e| TestCaseError::fail(format!("{s:?}: {e}")))?;
        prop_assert_eq!(&parsed, &parsed.normalized());
        let shown = parsed.to_string();
        prop_assert_eq!(shown.parse::<Platform>().unwrap(), parsed.clone());
        prop_assert!(parsed.matches(&parsed));
        let j = serde_json::to_string(&parsed).unwrap();
        prop_assert_eq!(serde_json::from_str::<Platform>(&j).unwrap(), parsed);
    }

    #[test]
    fn never_panics(s in "\\PC{0,40}", c in platform_string()) {
        if let Ok(p) = s.parse::<Platform>() {
            let _ = p.matches(&p);
        }
        if let Ok(c) = c.parse::<Platform>() {
            let _ = Platform::host().best_match([&c]);
        }
    }
}

fn entry(platform: Option<&str>, media_type: crate::MediaType) -> crate::Descriptor {
    let seed = platform.unwrap_or("none");
    let mut d = crate::Descriptor::new(media_type, crate::Digest::sha256(seed.as_bytes()), 2);
    d.platform = platform.map(|p| p.parse().unwrap());
    d
}

#[test]
fn select_picks_the_best_match_then_a_nested_index() {
    use crate::MediaType;
    let index = [
        entry(Some("linux/amd64"), MediaType::ImageManifest),
        entry(Some("linux/arm/v6"), MediaType::ImageManifest),
        entry(None, MediaType::ImageIndex),
    ];
    let arm7: Platform = "linux/arm/v7".parse().unwrap();
    assert_eq!(arm7.select(&index).unwrap(), &index[1]);
    let s390: Platform = "linux/s390x".parse().unwrap();
    assert_eq!(s390.select(&index).unwrap(), &index[2]);
}

#[test]
fn select_error_lists_the_available_platforms() {
    use crate::MediaType;
    let index = [
        entry(Some("linux/amd64"), MediaType::ImageManifest),
        entry(None, MediaType::ImageManifest),
        entry(Some("windows(10.0.20348)/amd64"), MediaType::ImageManifest),
    ];
    let wanted: Platform = "linux/riscv64".parse().unwrap();
    let err = wanted.select(&index).unwrap_err();
    let Error::PlatformNotFound {
        wanted: w,
        available,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(**w, wanted);
    assert_eq!(available.len(), 2);
    assert_eq!(
        err.to_string(),
        "no manifest for platform linux/riscv64: the index offers linux/amd64, \
         windows(10.0.20348)/amd64"
    );
    let empty = wanted.select(&[]).unwrap_err();
    assert_eq!(
        empty.to_string(),
        "no manifest for platform linux/riscv64: the index offers no platforms"
    );
}

#[test]
fn issue_21_new_takes_os_then_architecture_as_written() {
    let p = Platform::new("linux", "arm64");
    assert_eq!((p.os.as_str(), p.architecture.as_str()), ("linux", "arm64"));
    assert_eq!(p.to_string(), "linux/arm64");
    assert_eq!(p, "linux/arm64".parse::<Platform>().unwrap());
}
