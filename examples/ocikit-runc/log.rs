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
        let time = now_rfc3339();
        // logrus's formats, which containerd (go-runc) decodes: `time` must
        // be an RFC 3339 string for its time.Time field.
        let line = if self.json {
            let v = serde_json::json!({"level": "error", "msg": msg, "time": time});
            format!("{v}\n")
        } else {
            format!("time={time:?} level=error msg={msg:?}\n")
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

/// The current UTC time as RFC 3339 with seconds (`2024-05-01T12:00:00Z`).
fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let sod = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}
