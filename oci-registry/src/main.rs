//! `ocikit-registry serve CONFIG`: an OCI registry from CNCF
//! Distribution's configuration file (or its TOML form, `*.toml`). On
//! SIGTERM or SIGINT it drains requests in flight until
//! `http.draintimeout`, then exits. `ocikit-registry garbage-collect
//! CONFIG [--dry-run] [--delete-untagged]`: one garbage collection of its
//! store, safe while the server runs. `ocikit-registry fsck CONFIG
//! [--repair] [--json]`: a consistency check of its store.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use ocikit_registry::Config;

#[path = "cli/fsck.rs"]
mod fsck;
#[path = "cli/garbage_collect.rs"]
mod garbage_collect;

const USAGE: &str = "usage: ocikit-registry serve CONFIG.yml|CONFIG.toml\n       ocikit-registry garbage-collect CONFIG.yml|CONFIG.toml [--dry-run] [--delete-untagged]\n       ocikit-registry fsck CONFIG.yml|CONFIG.toml [--repair] [--json]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut gc_flags = None;
    let mut fsck_flags = None;
    let path = match args.as_slice() {
        [cmd, path] if cmd == "serve" => path.clone(),
        [cmd, path, flags @ ..] if cmd == "garbage-collect" => {
            gc_flags = Some(flags.to_vec());
            path.clone()
        }
        [cmd, path, flags @ ..] if cmd == "fsck" => {
            fsck_flags = Some(flags.to_vec());
            path.clone()
        }
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::from_file(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ocikit-registry: {}", chain(&e));
            // fsck keeps 1 for damage found.
            return match fsck_flags {
                Some(_) => ExitCode::from(2),
                None => ExitCode::FAILURE,
            };
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    for w in &config.warnings {
        tracing::warn!("{path}: {w}");
    }
    if let Some(flags) = fsck_flags {
        return fsck::run(&config, &flags);
    }
    if let Some(flags) = gc_flags {
        return garbage_collect::run(&config, &flags).unwrap_or_else(|e| {
            tracing::error!("{}", chain(&e));
            ExitCode::FAILURE
        });
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let registry = config.builder().build()?;
        tokio::spawn(reload_on_hangup(registry.clone()));
        #[cfg(feature = "s3")]
        let store = match &config.s3 {
            Some(s3) => format!("s3://{}/{}", s3.bucket, s3.root.trim_matches('/')),
            None => config.root.display().to_string(),
        };
        #[cfg(not(feature = "s3"))]
        let store = config.root.display().to_string();
        tracing::info!("serving {store} on {}", config.bind_addr());
        registry.serve(&config.bind_addr(), shutdown()).await
    });
    // Storage tasks of requests cut at the drain deadline get a moment
    // to end; the process does not wait for them longer.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{}", chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut t), Ok(mut i)) => {
            tokio::select! { _ = t.recv() => {}, _ = i.recv() => {} }
        }
        _ => std::future::pending().await,
    }
    tracing::info!("shutting down");
}

/// Reads the TLS certificate and key again on each SIGHUP; a failed
/// reload keeps the previous certificate and says why.
async fn reload_on_hangup(registry: ocikit_registry::Registry) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hup.recv().await.is_some() {
        match registry.reload_tls() {
            Ok(()) => tracing::info!("SIGHUP: TLS certificate reloaded"),
            Err(e) => tracing::error!("SIGHUP: {}; the previous certificate stays", chain(&e)),
        }
    }
}

/// An error and its causes, each once.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
