//! The lifecycle operations as futures, for async programs (tokio): each
//! runs the blocking operation on tokio's blocking pool, off the async
//! workers.

use std::future::Future;
use std::path::Path;

use super::container::Container;
use super::options::{CreateOptions, DeleteMode, ExitStatus};
use super::Runtime;
use crate::error::Result;

/// A [`Runtime`] whose `create`, `start`, `wait`, `delete` and `run` are
/// futures, for programs on tokio (feature `tokio`).
///
/// Each operation runs the blocking one of [`Runtime`] on tokio's
/// blocking thread pool (`tokio::task::spawn_blocking`), so a container
/// that runs for an hour holds a blocking thread, never an async worker.
/// The futures are `Send + 'static` (they own copies of their arguments),
/// so they can be spawned as tasks, and lazy: nothing happens until they
/// are first polled. Dropping one after that does not cancel the
/// operation, which runs to its end on its thread.
///
/// The engine reaps a container with waitpid(2) on its pid, so a program
/// that also reaps children itself (tokio's `process` module with a
/// SIGCHLD-driven orphan reaper included) must not reap containers'
/// processes.
///
/// ```no_run
/// use ocikit_runtime::{AsyncRuntime, CreateOptions};
///
/// #[tokio::main]
/// async fn main() -> Result<(), ocikit_runtime::Error> {
///     let rt = AsyncRuntime::new("/run/ocikit");
///     let status = rt.run("demo", "/srv/bundles/busybox", CreateOptions::new()).await?;
///     println!("exited with {}", status.code());
///     Ok(())
/// }
/// ```
///
/// # Panics
/// Each future panics when polled outside a tokio runtime, and resumes
/// the panic of an operation that panicked.
#[derive(Debug, Clone)]
pub struct AsyncRuntime {
    inner: Runtime,
}

impl From<Runtime> for AsyncRuntime {
    fn from(inner: Runtime) -> Self {
        AsyncRuntime { inner }
    }
}

impl AsyncRuntime {
    /// An engine keeping container state under `root`, as
    /// [`Runtime::new`].
    pub fn new(root: impl AsRef<Path>) -> Self {
        Runtime::new(root).into()
    }

    /// The blocking engine, for the operations without a future here
    /// (`state`, `list`, `kill`, `exec`, ...), which return at once.
    pub fn blocking(&self) -> &Runtime {
        &self.inner
    }

    /// [`Runtime::create`] as a future.
    ///
    /// # Errors
    /// As [`Runtime::create`].
    pub fn create(
        &self,
        id: &str,
        bundle: impl AsRef<Path>,
        options: impl Into<CreateOptions>,
    ) -> impl Future<Output = Result<Container>> + Send + 'static {
        let options = options.into();
        let (rt, id, bundle) = (
            self.inner.clone(),
            id.to_owned(),
            bundle.as_ref().to_owned(),
        );
        off_workers(move || rt.create(&id, bundle, options))
    }

    /// [`Runtime::start`] as a future.
    ///
    /// # Errors
    /// As [`Runtime::start`].
    pub fn start(&self, id: &str) -> impl Future<Output = Result<()>> + Send + 'static {
        let (rt, id) = (self.inner.clone(), id.to_owned());
        off_workers(move || rt.start(&id))
    }

    /// [`Runtime::wait`] as a future: resolves when the container's
    /// process exits.
    ///
    /// # Errors
    /// As [`Runtime::wait`].
    pub fn wait(&self, id: &str) -> impl Future<Output = Result<ExitStatus>> + Send + 'static {
        let (rt, id) = (self.inner.clone(), id.to_owned());
        off_workers(move || rt.wait(&id))
    }

    /// [`Runtime::delete`] as a future.
    ///
    /// # Errors
    /// As [`Runtime::delete`].
    pub fn delete(
        &self,
        id: &str,
        mode: DeleteMode,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let (rt, id) = (self.inner.clone(), id.to_owned());
        off_workers(move || rt.delete(&id, mode))
    }

    /// [`Runtime::run`] as a future: create, start, wait, delete.
    ///
    /// # Errors
    /// As [`Runtime::run`].
    pub fn run(
        &self,
        id: &str,
        bundle: impl AsRef<Path>,
        options: impl Into<CreateOptions>,
    ) -> impl Future<Output = Result<ExitStatus>> + Send + 'static {
        let options = options.into();
        let (rt, id, bundle) = (
            self.inner.clone(),
            id.to_owned(),
            bundle.as_ref().to_owned(),
        );
        off_workers(move || rt.run(&id, bundle, options))
    }
}

/// Runs `f` on tokio's blocking pool, resuming its panic here.
async fn off_workers<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(value) => value,
        Err(e) => match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            // A blocking task is cancelled only when the runtime shuts
            // down before it starts, and then nothing polls this future.
            Err(e) => panic!("ocikit runtime operation cancelled: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_static<T: Send + 'static>(_: &T) {}

    #[test]
    fn futures_are_send_and_static() {
        let rt = AsyncRuntime::new("/nonexistent/ocikit-state");
        assert_send_static(&rt.create("c", "/nonexistent", CreateOptions::new()));
        assert_send_static(&rt.start("c"));
        assert_send_static(&rt.wait("c"));
        assert_send_static(&rt.delete("c", DeleteMode::Force));
        assert_send_static(&rt.run("c", "/nonexistent", CreateOptions::new()));
        // Options written inline, with a borrowed bundle path.
        let bundle = std::path::PathBuf::from("/nonexistent");
        assert_send_static(&rt.run("c", &bundle, CreateOptions::new().listen_fds(0)));
    }

    #[test]
    fn an_error_comes_back_through_the_future() {
        let tokio = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let rt = AsyncRuntime::new("/nonexistent/ocikit-state");
        let e = tokio.block_on(rt.start("missing")).unwrap_err();
        assert!(e.is_not_found(), "{e:?}");
    }
}
