//! The pre-main hook: a function in `.init_array` that makes a process
//! the engine started as a container init become that init before `main`
//! (and so before any thread the program's `main` would start, an async
//! runtime's workers included).
//!
//! Soundness of running the init from `.init_array`:
//! - the dynamic loader (or, statically linked, `__libc_start_main`)
//!   calls these functions on the main thread, before `main`, after
//!   libc set up `environ`, TLS and `malloc`; glibc passes `argc`,
//!   `argv` and `envp` (musl passes nothing), which the C calling
//!   convention lets a function declared without parameters ignore;
//! - what the init uses of std works there: the environment
//!   (`getenv`/`unsetenv` through `std::env`), descriptors, files,
//!   allocation, thread-locals, `std::process::exit`. It never reads
//!   `std::env::args` (std fills it from its own `.init_array` entry,
//!   whose order relative to this one is unspecified) nor relies on
//!   what std's `main` wrapper sets up later: stdio opened on /dev/null
//!   when closed (the runtime always hands the init open stdio), and
//!   SIGPIPE ignored (it stays at the default `Command` gave the init;
//!   the init writes only to the runtime's socket, and a runtime that
//!   closed it has given up on this init; the container's program gets
//!   the same dispositions as before, checked in `/proc/self/status`);
//! - another library's constructor could in theory start a thread first:
//!   the init still checks that it is single-threaded
//!   ([`SingleThreaded::check`](crate::sys::SingleThreaded::check)) before it
//!   clones.
//!
//! Outside an init (the marker variable unset) the hook costs one
//! `getenv` and returns.
//!
//! A room of its own, above `init/`, rather than in `sys/`: it is the
//! process's entry into the init, so it calls the init, and `sys/` (the
//! bottom room) calls nothing above it. It holds no unsafe code; the crate
//! root allows `unsafe_code` on it only because rustc's lint counts the
//! `link_section` attribute that places the entry in `.init_array`.

/// Runs the init if this process was started as one; a panic in it ends
/// the process with 101 (Rust's exit code for a panicking `main`) rather
/// than unwinding into the C caller.
extern "C" fn before_main() {
    if std::panic::catch_unwind(crate::init::init_if_requested).is_err() {
        std::process::exit(101);
    }
}

// `#[used]` keeps the entry through linking (rustc also lists used
// statics in the object it links first, so an rlib's entry is not
// dropped with an otherwise unreferenced object file).
#[used]
#[link_section = ".init_array"]
static BEFORE_MAIN: extern "C" fn() = before_main;
