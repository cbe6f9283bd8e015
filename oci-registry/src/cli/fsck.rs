//! `ocikit-registry fsck CONFIG [--repair] [--json]`: a consistency check
//! of the store the config file names (see `ocikit_registry::fsck`).
//! Exit status: 0 when no damage is left (orphans are not damage), 1
//! when some is, 2 on a usage error or when the store cannot be checked.

use std::process::ExitCode;

use ocikit_registry::{Config, FsckMode, FsckReport};

/// Runs the check and prints what it found; `flags` are the arguments
/// after CONFIG.
pub(crate) fn run(config: &Config, flags: &[String]) -> ExitCode {
    let mut mode = FsckMode::Check;
    let mut json = false;
    for f in flags {
        match f.as_str() {
            "--repair" => mode = FsckMode::Repair,
            "--json" => json = true,
            other => {
                eprintln!("ocikit-registry fsck: unknown flag {other}");
                eprintln!("{}", super::USAGE);
                return ExitCode::from(2);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let report = runtime.block_on(async {
        let registry = config.builder().build()?;
        registry.fsck(mode).await
    });
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("{}", super::chain(&e));
            return ExitCode::from(2);
        }
    };
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                tracing::error!("cannot write the report as JSON: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        print(&report);
    }
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print(r: &FsckReport) {
    for f in &r.repaired {
        println!("repaired: {f}");
    }
    for f in &r.findings {
        let kind = if f.is_damage() { "damage" } else { "note" };
        println!("{kind}: {f}");
    }
    if !r.orphans_listed {
        println!("note: this storage does not list its blobs; orphans were not looked for");
    }
    println!(
        "{} repositories, {} manifests, {} blobs verified ({} bytes); {} damaged, {} repaired, {} orphan blobs",
        r.repositories,
        r.manifests,
        r.blobs_verified,
        r.bytes_verified,
        r.damage().count(),
        r.repaired.len(),
        r.findings
            .iter()
            .filter(|f| matches!(f, ocikit_registry::Finding::OrphanBlob { .. }))
            .count()
    );
}
