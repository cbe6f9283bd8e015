//! Hand-written argument parsing in runc's style: `--flag value`,
//! `--flag=value`, short aliases, booleans, positional arguments.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One accepted flag: long name, short alias, whether it takes a value.
pub(crate) struct Flag {
    pub(crate) long: &'static str,
    pub(crate) short: Option<char>,
    pub(crate) value: bool,
}

pub(crate) const fn flag(long: &'static str, short: Option<char>, value: bool) -> Flag {
    Flag { long, short, value }
}

/// The global options before the command.
#[derive(Debug)]
pub(crate) struct Global {
    pub(crate) root: PathBuf,
    pub(crate) log: Option<PathBuf>,
    pub(crate) log_json: bool,
    pub(crate) debug: bool,
    pub(crate) systemd_cgroup: bool,
    /// `--version` / `-v`: print the version instead of running a command.
    pub(crate) version: bool,
}

const GLOBAL: &[Flag] = &[
    flag("root", None, true),
    flag("log", None, true),
    flag("log-format", None, true),
    flag("debug", None, false),
    flag("systemd-cgroup", None, false),
    flag("criu", None, true),
    flag("rootless", None, true),
    flag("version", Some('v'), false),
];

impl Global {
    /// Parses global flags up to the command; returns the command and what
    /// follows it.
    pub(crate) fn parse(argv: &[String]) -> Result<(Global, Vec<String>), String> {
        let mut end = 0;
        while end < argv.len() && argv[end].starts_with('-') {
            let name = argv[end].trim_start_matches('-');
            let takes = GLOBAL
                .iter()
                .find(|f| f.long == name)
                .is_some_and(|f| f.value);
            end += if takes && !argv[end].contains('=') {
                2
            } else {
                1
            };
        }
        let end = end.min(argv.len());
        let a = Args::parse(&argv[..end], GLOBAL)?;
        let log_format = a.value("log-format").unwrap_or("text");
        if log_format != "text" && log_format != "json" {
            return Err(format!(
                "--log-format: expected text or json, found {log_format:?}"
            ));
        }
        Ok((
            Global {
                root: a.value("root").map_or_else(default_root, PathBuf::from),
                log: a.value("log").map(PathBuf::from),
                log_json: log_format == "json",
                debug: a.has("debug"),
                systemd_cgroup: a.has("systemd-cgroup"),
                version: a.has("version"),
            },
            argv[end..].to_vec(),
        ))
    }
}

/// runc's default `--root`: /run/ocikit for root, else (rootless)
/// $XDG_RUNTIME_DIR/ocikit where that is set.
fn default_root() -> PathBuf {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(true);
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !root && !dir.is_empty() => PathBuf::from(dir).join("ocikit"),
        _ => PathBuf::from("/run/ocikit"),
    }
}

/// Parsed subcommand arguments.
#[derive(Debug, Default)]
pub(crate) struct Args {
    values: BTreeMap<&'static str, String>,
    /// Every value of each flag, in order (repeatable flags like `--env`).
    all: BTreeMap<&'static str, Vec<String>>,
    bools: Vec<&'static str>,
    pub(crate) positional: Vec<String>,
}

impl Args {
    pub(crate) fn parse(argv: &[String], flags: &[Flag]) -> Result<Args, String> {
        Args::parse_inner(argv, flags, false)
    }

    /// Like [`Args::parse`], but flags end at the first positional
    /// argument (`exec ID COMMAND -x` passes `-x` to the command).
    pub(crate) fn parse_leading(argv: &[String], flags: &[Flag]) -> Result<Args, String> {
        Args::parse_inner(argv, flags, true)
    }

    fn parse_inner(argv: &[String], flags: &[Flag], leading: bool) -> Result<Args, String> {
        let mut a = Args::default();
        let mut i = 0;
        while i < argv.len() {
            let arg = &argv[i];
            i += 1;
            if arg == "--" || (leading && !a.positional.is_empty()) {
                if arg != "--" {
                    i -= 1;
                }
                a.positional.extend(argv[i..].iter().cloned());
                break;
            }
            let (f, inline) = if let Some(long) = arg.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_owned())),
                    None => (long, None),
                };
                let f = flags
                    .iter()
                    .find(|f| f.long == name)
                    .ok_or_else(|| format!("flag provided but not defined: -{name}"))?;
                (f, inline)
            } else if arg.len() == 2 && arg.starts_with('-') {
                let c = arg.chars().nth(1).unwrap_or('-');
                let f = flags
                    .iter()
                    .find(|f| f.short == Some(c))
                    .ok_or_else(|| format!("flag provided but not defined: -{c}"))?;
                (f, None)
            } else {
                a.positional.push(arg.clone());
                continue;
            };
            if f.value {
                let v = match inline {
                    Some(v) => v,
                    None => {
                        let v = argv
                            .get(i)
                            .ok_or_else(|| format!("flag needs an argument: -{}", f.long))?;
                        i += 1;
                        v.clone()
                    }
                };
                a.all.entry(f.long).or_default().push(v.clone());
                a.values.insert(f.long, v);
            } else {
                a.bools.push(f.long);
            }
        }
        Ok(a)
    }

    pub(crate) fn value(&self, long: &str) -> Option<&str> {
        self.values.get(long).map(String::as_str)
    }

    /// Every value given for a repeatable flag, in order.
    pub(crate) fn values(&self, long: &str) -> &[String] {
        self.all.get(long).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn has(&self, long: &str) -> bool {
        self.bools.contains(&long)
    }

    /// The container ID, the one required positional argument.
    pub(crate) fn id(&self, cmd: &str) -> Result<&str, String> {
        self.positional
            .first()
            .map(String::as_str)
            .ok_or_else(|| format!("{cmd}: requires exactly 1 argument (the container id)"))
    }
}
