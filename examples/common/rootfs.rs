//! The demo's tiny root filesystem.

use std::path::Path;
use std::process::Command;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The rootfs: busybox, else a static program compiled here, else a file.
/// Returns a description and the command the image runs.
pub(crate) fn make(dir: &Path) -> Result<(String, Vec<String>)> {
    std::fs::create_dir_all(dir.join("bin"))?;
    std::fs::create_dir_all(dir.join("etc"))?;
    std::fs::write(dir.join("etc/motd"), "Built, stored and run by ocikit.\n")?;
    std::fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n")?;
    std::fs::write(dir.join("etc/group"), "root:x:0:\n")?;
    if Path::new("/usr/bin/busybox").is_file() {
        std::fs::copy("/usr/bin/busybox", dir.join("bin/busybox"))?;
        for applet in ["sh", "cat", "echo", "hostname", "id", "ls", "uname"] {
            std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet))?;
        }
        return Ok((
            "busybox-static from /usr/bin/busybox".into(),
            vec![
                "/bin/sh".into(),
                "-c".into(),
                "cat /etc/motd; echo \"hostname: $(hostname), $(id)\"".into(),
            ],
        ));
    }
    let src = dir.join("hello.c");
    std::fs::write(&src, "#include <stdio.h>\nint main(void){puts(\"Built, stored and run by ocikit (a static program).\");return 0;}\n")?;
    let built = Command::new("cc")
        .arg("-static")
        .arg("-O2")
        .arg("-o")
        .arg(dir.join("bin/hello"))
        .arg(&src)
        .status();
    std::fs::remove_file(&src)?;
    if built.is_ok_and(|s| s.success()) {
        return Ok((
            "a static hello program compiled with cc (busybox-static is not installed)".into(),
            vec!["/bin/hello".into()],
        ));
    }
    Ok((
        "one file only (neither busybox-static nor a C compiler is installed)".into(),
        vec!["/bin/sh".into()],
    ))
}
