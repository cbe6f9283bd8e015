//! `--log` and `--log-format`: errors go to the log file (default stderr)
//! as runc writes them, text or JSON.

use std::io::Write;

use crate::args::Global;

pub(crate) struct Logger {
    file: Option<std::path::PathBuf>,
    json: bool,
    debug: bool,
}

impl Logger {
    pub(crate) fn new(g: &Global) -> Logger {
        Logger {
            file: g.log.clone(),
            json: g.log_json,
            debug: g.debug,
        }
    }

    pub(crate) fn error(&self, e: &crate::Failure) {
        let mut msg = e.to_string();
        let mut src = e.source();
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let line = if self.json {
            let v = serde_json::json!({"level": "error", "msg": msg, "time": secs});
            format!("{v}\n")
        } else {
            format!("time={secs} level=error msg={msg:?}\n")
        };
        if let Some(path) = &self.file {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = f.write_all(line.as_bytes());
            }
        }
        // runc also prints the error on stderr for its caller.
        if self.debug || self.file.is_none() || !self.json {
            eprintln!("ocikit-runc: {msg}");
        }
    }
}
