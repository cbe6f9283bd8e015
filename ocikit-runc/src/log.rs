//! `--log`, `--log-format` and `--debug`: errors (and with `--debug`, the
//! engine's debug events) go to the log file (default stderr) as runc
//! writes them, logrus text or JSON.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::args::Global;

/// Where log lines go, in which format.
#[derive(Clone)]
struct Sink {
    file: Option<std::path::PathBuf>,
    json: bool,
}

impl Sink {
    /// One line in logrus's format, which containerd (go-runc) decodes:
    /// `time` must be an RFC 3339 string for its time.Time field.
    fn line(&self, level: &str, msg: &str) -> String {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let time = ocikit_types::rfc3339::format_utc(secs, 0);
        if self.json {
            let v = serde_json::json!({"level": level, "msg": msg, "time": time});
            format!("{v}\n")
        } else {
            format!("time={time:?} level={level} msg={msg:?}\n")
        }
    }

    fn write(&self, line: &str) {
        match &self.file {
            Some(path) => {
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                {
                    let _ = f.write_all(line.as_bytes());
                }
            }
            None => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }
}

pub(crate) struct Logger {
    sink: Sink,
    debug: bool,
}

impl Logger {
    /// The logger for `g`; with `--debug`, also the process's tracing
    /// subscriber, so the engine's debug events are logged.
    pub(crate) fn new(g: &Global) -> Logger {
        let sink = Sink {
            file: g.log.clone(),
            json: g.log_json,
        };
        if g.debug {
            let _ = tracing::subscriber::set_global_default(DebugLog {
                sink: sink.clone(),
                spans: AtomicU64::new(0),
            });
        }
        Logger {
            sink,
            debug: g.debug,
        }
    }

    pub(crate) fn error(&self, e: &crate::Failure) {
        // One log line (engines read the last error line's message),
        // each cause once.
        let msg = crate::failure::chain(&**e).join(": ");
        if self.sink.file.is_some() {
            self.sink.write(&self.sink.line("error", &msg));
        }
        // runc also prints the error on stderr for its caller: there, one
        // line per cause.
        if self.debug || self.sink.file.is_none() || !self.sink.json {
            eprintln!("{}", crate::failure::lines(&**e));
        }
    }
}

/// A tracing subscriber writing debug-and-above events as log lines:
/// the message, then the event's fields as `key=value`.
struct DebugLog {
    sink: Sink,
    spans: AtomicU64,
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    // An error field shows its whole chain, each cause once.
    fn record_error(
        &mut self,
        field: &tracing::field::Field,
        value: &(dyn std::error::Error + 'static),
    ) {
        let chain = crate::failure::chain(value).join(": ");
        let _ = write!(self.0, " {}={chain:?}", field.name());
    }
}

impl tracing::Subscriber for DebugLog {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::DEBUG
    }

    fn new_span(&self, _span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(self.spans.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _span: &tracing::span::Id, _values: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _span: &tracing::span::Id, _follows: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let level = event.metadata().level().as_str().to_ascii_lowercase();
        self.sink
            .write(&self.sink.line(&level, fields.0.trim_start()));
    }

    fn enter(&self, _span: &tracing::span::Id) {}

    fn exit(&self, _span: &tracing::span::Id) {}
}
