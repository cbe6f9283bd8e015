//! Checks of the process's values that only the init would otherwise
//! meet: an unknown rlimit or capability fails `create` with a config
//! error before any namespace, cgroup or mount is made, not inside the
//! half-built container.

use ocikit_types::runtime::{Capability, Process};

use crate::error::{Error, Result};
use crate::setup::process::rlimit_number;

/// Refuses an rlimit this engine cannot map to a kernel resource, a
/// repeated one or one whose soft limit exceeds its hard limit
/// (config.md, `rlimits`: the runtime MUST generate an error for values
/// it cannot map, and for duplicated entries), and a capability name the
/// engine does not know in any of the five sets.
pub(crate) fn check_process_values(process: &Process) -> Result<()> {
    let mut seen = Vec::new();
    for r in &process.rlimits {
        if rlimit_number(&r.kind).is_none() {
            return Err(Error::BadConfig {
                field: "process.rlimits",
                expected: "an rlimit type the kernel has (RLIMIT_CPU ... RLIMIT_RTTIME)",
                found: r.kind.to_string(),
            });
        }
        if seen.contains(&&r.kind) {
            return Err(Error::BadConfig {
                field: "process.rlimits",
                expected: "each rlimit type once",
                found: format!("{} twice", r.kind),
            });
        }
        seen.push(&r.kind);
        if r.soft > r.hard {
            return Err(Error::BadConfig {
                field: "process.rlimits",
                expected: "a soft limit no greater than the hard limit",
                found: format!("{} soft {} hard {}", r.kind, r.soft, r.hard),
            });
        }
    }
    if let Some(c) = &process.capabilities {
        let sets: [(&'static str, &[Capability]); 5] = [
            ("process.capabilities.bounding", &c.bounding),
            ("process.capabilities.effective", &c.effective),
            ("process.capabilities.inheritable", &c.inheritable),
            ("process.capabilities.permitted", &c.permitted),
            ("process.capabilities.ambient", &c.ambient),
        ];
        for (field, set) in sets {
            if let Some(bad) = set.iter().find(|cap| cap.number().is_none()) {
                return Err(Error::BadConfig {
                    field,
                    expected:
                        "a capability name this engine knows (CAP_CHOWN ... CAP_CHECKPOINT_RESTORE)",
                    found: bad.to_string(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ocikit_types::runtime::{Capabilities, Rlimit, RlimitType};

    use super::*;

    fn process() -> Process {
        let mut p = Process::new("/");
        p.args = vec!["true".into()];
        p
    }

    #[test]
    fn known_values_pass() {
        let mut p = process();
        p.rlimits = vec![
            Rlimit::new(RlimitType::Nofile, 1024, 1024),
            Rlimit::new(RlimitType::Core, 0, 10),
        ];
        let mut c = Capabilities::default();
        c.bounding = vec![Capability::from("CAP_CHOWN")];
        p.capabilities = Some(c);
        check_process_values(&p).unwrap();
    }

    #[test]
    fn unknown_rlimit_is_named() {
        let mut p = process();
        p.rlimits = vec![Rlimit::new(RlimitType::from("RLIMIT_FOO"), 1, 1)];
        let e = check_process_values(&p).unwrap_err().to_string();
        assert!(
            e.contains("process.rlimits") && e.contains("RLIMIT_FOO"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_and_inverted_rlimits_are_refused() {
        let mut p = process();
        p.rlimits = vec![
            Rlimit::new(RlimitType::Nofile, 1, 1),
            Rlimit::new(RlimitType::Nofile, 2, 2),
        ];
        let e = check_process_values(&p).unwrap_err().to_string();
        assert!(e.contains("RLIMIT_NOFILE twice"), "{e}");
        p.rlimits = vec![Rlimit::new(RlimitType::Nofile, 2, 1)];
        let e = check_process_values(&p).unwrap_err().to_string();
        assert!(e.contains("soft 2 hard 1"), "{e}");
    }

    #[test]
    fn unknown_capability_names_its_set() {
        let mut p = process();
        let mut c = Capabilities::default();
        c.ambient = vec![Capability::from("CAP_NOPE")];
        p.capabilities = Some(c);
        let e = check_process_values(&p).unwrap_err().to_string();
        assert!(
            e.contains("process.capabilities.ambient") && e.contains("CAP_NOPE"),
            "{e}"
        );
    }
}
