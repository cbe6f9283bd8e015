//! `config.json` on disk: [`Spec::load`] and [`Spec::save`].
//!
//! The only I/O in this crate, through `std::fs` alone: the file is read
//! whole, and written to a temporary file in the same directory, flushed
//! to disk and renamed over the target, so a reader sees the old file or
//! the new one, never a part.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::Spec;
use crate::IoError;
use crate::{Document, Error};

impl Spec {
    /// Reads, parses and validates a bundle's `config.json` (or any file
    /// holding a runtime config).
    ///
    /// ```no_run
    /// use ocikit_types::runtime::Spec;
    ///
    /// let mut spec = Spec::load("bundle/config.json")?;
    /// if let Some(p) = spec.process.as_mut() {
    ///     p.args = vec!["echo".into(), "hello".into()];
    /// }
    /// spec.save("bundle/config.json")?;
    /// # Ok::<(), ocikit_types::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] naming the file when it cannot be read;
    /// [`Error::InFile`] naming the file when its content is not a valid
    /// runtime config, with the parse or validation error (and its JSON
    /// path, such as `$.process.args`) as the source.
    pub fn load(path: impl AsRef<Path>) -> Result<Spec, Error> {
        load(path.as_ref())
    }

    /// Validates the config and writes it, pretty-printed, to `path`
    /// atomically: to a temporary file in the same directory, flushed to
    /// disk, then renamed over `path`. On failure `path` is unchanged and
    /// no temporary file is left.
    ///
    /// # Errors
    /// [`Error::InFile`] when the config is invalid (nothing is written);
    /// [`Error::Io`] naming the file for a failed create, write, flush or
    /// rename.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        save(self, path.as_ref())
    }
}

fn load(path: &Path) -> Result<Spec, Error> {
    let bytes = std::fs::read(path).map_err(|e| io("read", path, e))?;
    Spec::from_slice_validated(&bytes).map_err(|e| in_file(path, e))
}

fn save(spec: &Spec, path: &Path) -> Result<(), Error> {
    spec.validate().map_err(|e| in_file(path, e))?;
    let mut text = spec.to_pretty_string();
    text.push('\n');
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let (tmp, mut file) = temp_file(dir, path)?;
    let written = file
        .write_all(text.as_bytes())
        .map_err(|e| io("write", &tmp, e))
        .and_then(|()| file.sync_all().map_err(|e| io("flush", &tmp, e)))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| io("rename into", path, e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return written;
    }
    // The rename is durable once the directory is flushed; a directory
    // that cannot be opened or flushed (some filesystems) still holds the
    // complete file.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A new file beside `target`, named after it, that no other writer
/// (thread or process) picks.
fn temp_file(dir: &Path, target: &Path) -> Result<(PathBuf, File), Error> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.json".to_owned());
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io("create", &tmp, e)),
        }
    }
}

fn io(op: &'static str, path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        op,
        path: path.to_owned(),
        source: IoError::from(e),
    }
}

fn in_file(path: &Path, e: Error) -> Error {
    Error::InFile {
        document: Spec::KIND,
        path: path.to_owned(),
        source: Box::new(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(e: &dyn std::error::Error) -> Vec<String> {
        let mut out = vec![e.to_string()];
        let mut cause = e.source();
        while let Some(c) = cause {
            out.push(c.to_string());
            cause = c.source();
        }
        out
    }

    fn dir() -> PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        let d = std::env::temp_dir().join(format!(
            "ocikit-types-spec-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn issue_21_a_user_edits_config_json_in_place() {
        let d = dir();
        let path = d.join("config.json");
        let spec = Spec::default_linux();
        spec.save(&path).unwrap();
        let mut loaded = Spec::load(&path).unwrap();
        assert_eq!(loaded, spec);
        loaded.process.as_mut().unwrap().args = vec!["echo".into(), "hi".into()];
        loaded.save(&path).unwrap();
        assert_eq!(
            Spec::load(&path).unwrap().process.unwrap().args,
            ["echo", "hi"]
        );
        // Only config.json: no temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["config.json"]);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn issue_21_load_errors_name_the_file_and_the_json_path() {
        let d = dir();
        let path = d.join("config.json");
        let e = Spec::load(&path).unwrap_err();
        let c = chain(&e);
        assert_eq!(c[0], format!("read {}", path.display()));
        assert!(
            matches!(&e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
        );

        std::fs::write(
            &path,
            r#"{"ociVersion":"1.2.0","process":{"cwd":"/","args":"echo"}}"#,
        )
        .unwrap();
        let e = Spec::load(&path).unwrap_err();
        let c = chain(&e);
        assert_eq!(c[0], format!("runtime config file {}", path.display()));
        assert!(c[1].contains("$.process.args"), "{c:?}");
        assert!(!c[0].contains(&c[1]));

        // Invalid (not malformed): the validation error with its path.
        let mut spec = Spec::default_linux();
        spec.process.as_mut().unwrap().cwd = "relative".into();
        let e = spec.save(&path).unwrap_err();
        assert!(chain(&e)[1].contains("$.process.cwd"), "{e:?}");
        // Nothing was written over the file.
        assert!(std::fs::read_to_string(&path).unwrap().contains("\"echo\""));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn save_into_a_missing_directory_names_the_file() {
        let path = std::env::temp_dir().join("ocikit-no-such-dir/x/config.json");
        let e = Spec::default_linux().save(&path).unwrap_err();
        assert!(chain(&e)[0].starts_with("create "), "{e}");
        assert!(chain(&e)[0].contains("ocikit-no-such-dir"), "{e}");
    }
}
