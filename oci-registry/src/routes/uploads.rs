//! Blob uploads: `POST /v2/<name>/blobs/uploads/` (a session, a
//! monolithic push with `digest`, or a mount), and `GET`, `PATCH`, `PUT`,
//! `DELETE` on a session.

use std::sync::Arc;

use axum::http::header::{CONTENT_LENGTH, LOCATION, RANGE};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use ocikit_types::{Digest, ErrorCode};

use super::body::{receive, session_hasher};
use super::{hv, parse_digest, ApiError, Call};
use crate::state::{Hasher, State, SESSION_ALGORITHM};
use crate::storage::UploadSession;
use crate::RepositoryName;

fn reply(status: StatusCode) -> axum::http::response::Builder {
    Response::builder()
        .status(status)
        .header(CONTENT_LENGTH, "0")
}

fn done(resp: axum::http::response::Builder) -> Response {
    resp.body(axum::body::Body::empty()).unwrap_or_default()
}

/// The `Range` header of a session holding `size` bytes.
fn range(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

/// 201 Created for the blob `digest` of `name`.
fn created(name: &RepositoryName, digest: &Digest) -> Response {
    done(
        reply(StatusCode::CREATED)
            .header(LOCATION, hv(format!("/v2/{name}/blobs/{digest}")))
            .header("docker-content-digest", hv(digest.as_str())),
    )
}

/// 202 Accepted with the session's URL and progress.
fn accepted(state: &State, status: StatusCode, s: &UploadSession) -> Response {
    let mut r = reply(status)
        .header(
            LOCATION,
            hv(format!("/v2/{}/blobs/uploads/{}", s.repository, s.id)),
        )
        .header(RANGE, hv(range(s.size)))
        .header("docker-upload-uuid", hv(&s.id));
    if let Some(min) = state.options.chunk_min_length {
        r = r.header("oci-chunk-min-length", min);
    }
    done(r)
}

pub(crate) async fn start(call: Call, name: RepositoryName) -> Result<Response, ApiError> {
    if call.method != Method::POST {
        return Err(ApiError::unsupported(format!("{} on uploads", call.method)));
    }
    if let Some(mount) = call.param("mount").map(str::to_owned) {
        let from = call.param("from").map(str::to_owned);
        let (state, grant) = (&call.state, &call.grant);
        if let Some(resp) = mount_blob(state, grant, &name, &mount, from.as_deref()).await? {
            return Ok(resp);
        }
    }
    let digest = call.param("digest").map(parse_digest).transpose()?;
    if digest.is_some() {
        admit_declared(&call, 0, None)?;
    }
    let n = name.clone();
    let session = call.state.run(move |s| s.create_upload(&n)).await?;
    let Some(digest) = digest else {
        return Ok(accepted(&call.state, StatusCode::ACCEPTED, &session));
    };
    let algorithm = algorithm_of(&digest)?;
    let (hasher, _) = receive(
        &call.state,
        &session.id,
        Hasher::new(algorithm),
        0,
        call.body,
        None,
    )
    .await?;
    commit(&call.state, &session.id, &name, hasher, &digest).await?;
    Ok(created(&name, &digest))
}

/// Links `mount` from `from` (or, without `from`, from wherever this
/// registry stores it) into `name`; `None` when it cannot, and a session
/// is opened instead, as when the client may not pull the source.
async fn mount_blob(
    state: &Arc<State>,
    grant: &crate::auth::Grant,
    name: &RepositoryName,
    mount: &str,
    from: Option<&str>,
) -> Result<Option<Response>, ApiError> {
    let Ok(digest) = parse_digest(mount) else {
        return Ok(None);
    };
    let from = match from {
        Some(f) => match RepositoryName::parse(f) {
            Some(f) => Some(f),
            None => return Ok(None),
        },
        None => None,
    };
    if !crate::auth::may_mount(&state.storage, grant, from.as_ref(), &digest).await? {
        return Ok(None);
    }
    let (n, d) = (name.clone(), digest.clone());
    let linked = state
        .run(move |s| match from {
            Some(from) if s.blob_size(&from, &d)?.is_none() => Ok(false),
            _ => s.link_blob(&n, &d),
        })
        .await?;
    Ok(linked.then(|| created(name, &digest)))
}

fn algorithm_of(digest: &Digest) -> Result<ocikit_types::Algorithm, ApiError> {
    digest
        .registered_algorithm()
        .ok_or_else(|| ApiError::digest_invalid(format!("cannot compute {}", digest.algorithm())))
}

/// Checks the hash against `digest` and makes the session the blob, or
/// drops the session when they differ.
async fn commit(
    state: &Arc<State>,
    id: &str,
    name: &RepositoryName,
    hasher: Hasher,
    digest: &Digest,
) -> Result<(), ApiError> {
    state.forget_session(id);
    let (found, _) = hasher
        .verifier
        .finish()
        .map_err(|e| ApiError::digest_invalid(e.to_string()))?;
    let (id, n, d) = (id.to_owned(), name.clone(), digest.clone());
    if &found != digest {
        state.run(move |s| s.cancel_upload(&id)).await?;
        return Err(ApiError::digest_invalid(format!(
            "the upload's digest is {found}, not {digest}"
        )));
    }
    Ok(state.run(move |s| s.commit_upload(&id, &n, &d)).await?)
}

pub(crate) async fn handle(
    call: Call,
    name: RepositoryName,
    id: &str,
) -> Result<Response, ApiError> {
    if uuid::Uuid::try_parse(id).is_err() {
        return Err(ApiError::upload_unknown(id));
    }
    let _guard = call.state.lock_session(id).await;
    let key = id.to_owned();
    let found = call.state.run(move |s| s.upload(&key)).await?;
    let Some(session) = found.filter(|s| s.repository == name) else {
        call.state.forget_session(id);
        return Err(ApiError::upload_unknown(id));
    };
    match call.method {
        Method::GET => Ok(accepted(&call.state, StatusCode::NO_CONTENT, &session)),
        Method::DELETE => {
            call.state.forget_session(id);
            let key = id.to_owned();
            call.state.run(move |s| s.cancel_upload(&key)).await?;
            Ok(done(reply(StatusCode::NO_CONTENT)))
        }
        Method::PATCH => patch(call, session).await,
        Method::PUT => put(call, session).await,
        m => Err(ApiError::unsupported(format!("{m} on an upload"))),
    }
}

/// Checks a chunk's `Content-Range` (`start-end`, inclusive) against the
/// session's size and the body's `Content-Length`; returns the chunk's
/// length when a range was given.
fn check_chunk(call: &Call, session: &UploadSession) -> Result<Option<u64>, ApiError> {
    let Some(value) = call.header("content-range") else {
        return Ok(None);
    };
    let out_of_order = || {
        ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            ErrorCode::BlobUploadInvalid,
            format!(
                "chunk {value:?} does not start at the session's size {}",
                session.size
            ),
        )
        .header(
            LOCATION,
            format!("/v2/{}/blobs/uploads/{}", session.repository, session.id),
        )
        .header(RANGE, range(session.size))
    };
    let spec = value.trim().trim_start_matches("bytes ");
    let spec = spec.split('/').next().unwrap_or("");
    let (a, b) = spec.split_once('-').ok_or_else(out_of_order)?;
    let (start, end): (u64, u64) = match (a.trim().parse(), b.trim().parse()) {
        (Ok(a), Ok(b)) if a <= b => (a, b),
        _ => return Err(out_of_order()),
    };
    if start != session.size {
        return Err(out_of_order());
    }
    // `0-18446744073709551615` names one byte more than a u64 counts.
    let count = (end - start).checked_add(1).ok_or_else(out_of_order)?;
    if let Some(len) = call
        .header("content-length")
        .and_then(|l| l.parse::<u64>().ok())
    {
        if len != count {
            return Err(out_of_order());
        }
    }
    Ok(Some(count))
}

/// Refuses, before its body is read, a request announcing (by its chunk's
/// `Content-Range` or its `Content-Length`) more bytes than the blob size
/// limit leaves to an upload holding `stored`.
fn admit_declared(call: &Call, stored: u64, chunk: Option<u64>) -> Result<(), ApiError> {
    let declared = chunk.or_else(|| call.header("content-length").and_then(|l| l.parse().ok()));
    let max = call.state.options.blob_size_limit;
    crate::limits::blob::admit(max, stored, declared.unwrap_or(0))
}

async fn patch(call: Call, session: UploadSession) -> Result<Response, ApiError> {
    let limit = check_chunk(&call, &session)?;
    admit_declared(&call, session.size, limit)?;
    let state = call.state.clone();
    let hasher = session_hasher(&state, &session.id, session.size, SESSION_ALGORITHM).await?;
    let (hasher, size) =
        receive(&state, &session.id, hasher, session.size, call.body, limit).await?;
    state.put_hasher(&session.id, hasher);
    let session = UploadSession { size, ..session };
    Ok(accepted(&state, StatusCode::ACCEPTED, &session))
}

async fn put(call: Call, session: UploadSession) -> Result<Response, ApiError> {
    let digest = call
        .param("digest")
        .ok_or_else(|| ApiError::digest_invalid("the digest parameter is missing"))
        .and_then(parse_digest)?;
    let limit = check_chunk(&call, &session)?;
    admit_declared(&call, session.size, limit)?;
    let state = call.state.clone();
    let algorithm = algorithm_of(&digest)?;
    let hasher = session_hasher(&state, &session.id, session.size, algorithm).await?;
    let (hasher, _) = receive(&state, &session.id, hasher, session.size, call.body, limit).await?;
    commit(&state, &session.id, &session.repository, hasher, &digest).await?;
    Ok(created(&session.repository, &digest))
}
