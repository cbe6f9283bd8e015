//! The body of a monolithic blob upload: the local file streamed once,
//! verified on its way out.

use ocikit_image::Verifier;
use ocikit_types::Descriptor;

use crate::builder::{Progress, ProgressFn};

/// The request body for the blob `desc` at `path`: read once in 1 MiB
/// chunks, each passing a [`Verifier`] on its way out, reporting
/// progress. The chunk that completes the blob is released only once the
/// digest is known to match: otherwise (or when the file is longer or
/// shorter than `desc.size`) the body fails with `InvalidData` carrying
/// the typed mismatch (see [`ocikit_image::Error::find_integrity`])
/// instead of ending, so the registry never gets a complete upload.
pub(super) fn verified_body(
    path: &std::path::Path,
    desc: &Descriptor,
    progress: Option<ProgressFn>,
) -> reqwest::Body {
    use futures_util::StreamExt as _;
    let path = path.to_owned();
    let chunks = futures_util::stream::once(async move { tokio::fs::File::open(path).await })
        .map(|f| match f {
            Ok(f) => tokio_util::io::ReaderStream::with_capacity(f, 1 << 20).left_stream(),
            Err(e) => futures_util::stream::once(async move { Err(e) }).right_stream(),
        })
        .flatten();
    let verifier = Verifier::for_descriptor(desc).map_err(ocikit_image::Error::into_io);
    let stream =
        futures_util::stream::unfold(Some((Box::pin(chunks), verifier)), |state| async move {
            let (mut chunks, verifier) = state?;
            let mut verifier = match verifier {
                Ok(v) => v,
                Err(e) => return Some((Err(e), None)),
            };
            let chunk = match chunks.next().await {
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => return Some((Err(e), None)),
                // Ended short of the size: finish() reports it.
                None => return verifier.finish().err().map(|e| (Err(e.into_io()), None)),
            };
            if let Err(e) = verifier.update(&chunk) {
                return Some((Err(e.into_io()), None));
            }
            if verifier.is_complete() {
                return Some(match verifier.finish() {
                    Ok(_) => (Ok(chunk), None),
                    Err(e) => (Err(e.into_io()), None),
                });
            }
            Some((Ok(chunk), Some((chunks, Ok(verifier)))))
        });
    let digest = desc.digest.clone();
    let size = desc.size;
    let mut done = 0u64;
    let stream = stream.inspect(move |chunk| {
        if let (Ok(c), Some(p)) = (chunk, &progress) {
            done += c.len() as u64;
            p(Progress::Bytes {
                digest: digest.clone(),
                done,
                size,
            });
        }
    });
    reqwest::Body::wrap_stream(stream)
}
