//! The time namespace: a new one gets `linux.timeOffsets` written to
//! `/proc/self/timens_offsets` after unshare(2) and before any process
//! enters it (the kernel refuses offsets afterwards).

use ocikit_types::runtime::{Namespace, NamespaceType, Spec, TimeOffset, TimeOffsets};

use crate::setup::error::{Invalid, SetupError, Step};
use crate::sys;

/// Whether `namespaces` asks for a new (not joined) time namespace.
pub(crate) fn wants_new(namespaces: &[Namespace]) -> bool {
    namespaces
        .iter()
        .any(|n| n.kind == NamespaceType::Time && n.path.is_empty())
}

/// The text for `/proc/self/timens_offsets`: one `clock secs nanosecs`
/// line per offset given.
pub(crate) fn offsets_text(o: &TimeOffsets) -> Result<String, Invalid> {
    let mut out = String::new();
    for (clock, off) in [("monotonic", &o.monotonic), ("boottime", &o.boottime)] {
        let Some(TimeOffset { secs, nanosecs, .. }) = off else {
            continue;
        };
        if *nanosecs >= 1_000_000_000 {
            return Err(Invalid {
                field: "linux.timeOffsets",
                expected: "nanosecs below 1000000000",
                found: nanosecs.to_string(),
            });
        }
        out.push_str(&format!("{clock} {secs} {nanosecs}\n"));
    }
    Ok(out)
}

/// Checks the time namespace settings of `spec` for `create`.
pub(crate) fn check(spec: &Spec) -> Result<(), Invalid> {
    let Some(linux) = &spec.linux else {
        return Ok(());
    };
    if let Some(o) = &linux.time_offsets {
        if !wants_new(&linux.namespaces) {
            return Err(Invalid {
                field: "linux.timeOffsets",
                expected: "a new time namespace (offsets cannot be set on a joined one)",
                found: "no new time namespace".into(),
            });
        }
        offsets_text(o)?;
    }
    Ok(())
}

/// In stage 1, just before the clone of stage 2: unshares a time
/// namespace for the children of the calling process and sets its
/// offsets.
pub(crate) fn setup(spec: &Spec) -> Result<(), SetupError> {
    let Some(linux) = &spec.linux else {
        return Ok(());
    };
    if !wants_new(&linux.namespaces) {
        return Ok(());
    }
    sys::unshare(libc::CLONE_NEWTIME).step(|| "unshare time namespace".into())?;
    if let Some(o) = &linux.time_offsets {
        let text = offsets_text(o)?;
        if !text.is_empty() {
            std::fs::write("/proc/self/timens_offsets", &text)
                .step(|| format!("write time namespace offsets {text:?}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn off(secs: i64, nanosecs: u32) -> TimeOffset {
        let mut o = TimeOffset::default();
        o.secs = secs;
        o.nanosecs = nanosecs;
        o
    }

    #[test]
    fn offsets() {
        let mut o = TimeOffsets::default();
        assert_eq!(offsets_text(&o).unwrap(), "");
        o.boottime = Some(off(86400, 5));
        assert_eq!(offsets_text(&o).unwrap(), "boottime 86400 5\n");
        o.monotonic = Some(off(-10, 0));
        assert_eq!(
            offsets_text(&o).unwrap(),
            "monotonic -10 0\nboottime 86400 5\n"
        );
        o.monotonic = Some(off(0, 1_000_000_000));
        assert_eq!(offsets_text(&o).unwrap_err().field, "linux.timeOffsets");
    }

    #[test]
    fn offsets_need_a_new_namespace() {
        let mut spec = Spec::default_linux();
        let linux = spec.linux.as_mut().unwrap();
        linux.time_offsets = Some(TimeOffsets::default());
        assert!(check(&spec).is_err());
        let mut joined = Namespace::new(NamespaceType::Time);
        joined.path = "/proc/1/ns/time".into();
        spec.linux.as_mut().unwrap().namespaces.push(joined);
        assert!(check(&spec).is_err());
        spec.linux
            .as_mut()
            .unwrap()
            .namespaces
            .push(Namespace::new(NamespaceType::Time));
        check(&spec).unwrap();
    }
}
