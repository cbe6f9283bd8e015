//! Storage calls on tokio's blocking threads, where the server makes
//! them (the [`Storage`] methods block).

use std::sync::Arc;

use super::Storage;
use crate::Error;

/// Runs `f` with `storage` on a blocking thread.
pub(crate) async fn run<T: Send + 'static>(
    storage: &Arc<dyn Storage>,
    f: impl FnOnce(&dyn Storage) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let storage = storage.clone();
    tokio::task::spawn_blocking(move || f(&*storage))
        .await
        .map_err(|_| Error::TaskFailed)?
}
