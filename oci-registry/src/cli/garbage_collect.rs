//! `ocikit-registry garbage-collect CONFIG [--dry-run] [--delete-untagged]`:
//! one collection of the store the config file names, safe to run while
//! `ocikit-registry serve` uses it (see `GcOptions`). The grace period
//! and the defaults of both flags come from the config file's
//! `storage.maintenance.garbagecollect`; idle upload sessions are purged
//! too when `storage.maintenance.uploadpurging` is enabled.

use std::process::ExitCode;

use ocikit_registry::{Config, GcReport};

/// Runs the collection and prints what went, as Distribution's
/// `garbage-collect` does; `flags` are the arguments after CONFIG.
pub(crate) fn run(config: &Config, flags: &[String]) -> Result<ExitCode, ocikit_registry::Error> {
    let mut options = config.gc_options.clone();
    for f in flags {
        match f.as_str() {
            "--dry-run" | "-d" => options.dry_run = true,
            "--delete-untagged" | "-m" => options.delete_untagged = true,
            other => {
                eprintln!("ocikit-registry garbage-collect: unknown flag {other}");
                eprintln!("{}", super::USAGE);
                return Ok(ExitCode::from(2));
            }
        }
    }
    options.upload_age = config.upload_purging.as_ref().map(|u| u.age);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| ocikit_registry::Error::Io {
            action: "start the async runtime for",
            path: config.root.clone(),
            source,
        })?;
    let report = runtime.block_on(async {
        let registry = config.builder().build()?;
        registry.collect_garbage(options).await
    })?;
    print(&report);
    Ok(ExitCode::SUCCESS)
}

fn print(r: &GcReport) {
    let verb = if r.dry_run {
        "eligible for deletion"
    } else {
        "deleted"
    };
    for m in &r.manifests {
        println!("manifest {verb}: {}@{}", m.repository, m.digest);
    }
    for b in &r.blobs {
        println!("blob {verb}: {} ({} bytes)", b.digest, b.size);
    }
    for u in &r.uploads {
        println!(
            "upload {verb}: {} ({}, {} bytes)",
            u.id, u.repository, u.size
        );
    }
    println!(
        "{} blobs, {} manifests and {} uploads {verb}, {} bytes; {} unreferenced blobs kept within the grace period",
        r.blobs.len(),
        r.manifests.len(),
        r.uploads.len(),
        r.bytes_freed,
        r.kept_in_grace
    );
}
