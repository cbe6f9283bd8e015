//! `PUT`, `GET`, `HEAD` and `DELETE /v2/<name>/manifests/<reference>`.

use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use http_body_util::{BodyExt, Limited};
use ocikit_types::{AnyManifest, Descriptor, Digest, ErrorCode, MediaType};

use super::{hv, parse_digest, ApiError, Call};
use crate::name::is_tag;
use crate::storage::StoredManifest;
use crate::{Deletes, References, RepositoryName};

/// A reference: a tag, or a digest.
enum Reference {
    Tag(String),
    Digest(Digest),
}

fn reference(r: &str) -> Result<Reference, ApiError> {
    if r.contains(':') {
        return parse_digest(r).map(Reference::Digest);
    }
    if !is_tag(r) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::ManifestInvalid,
            format!("{r:?} is neither a tag nor a digest"),
        ));
    }
    Ok(Reference::Tag(r.to_owned()))
}

pub(crate) async fn handle(
    call: Call,
    name: RepositoryName,
    r: &str,
) -> Result<Response, ApiError> {
    let reference = reference(r)?;
    match call.method {
        Method::GET | Method::HEAD => get(call, name, reference, r).await,
        Method::PUT => put(call, name, reference).await,
        Method::DELETE => delete(call, name, reference, r).await,
        m => Err(ApiError::unsupported(format!("{m} on a manifest"))),
    }
}

async fn get(
    call: Call,
    name: RepositoryName,
    reference: Reference,
    r: &str,
) -> Result<Response, ApiError> {
    let found = call
        .state
        .run(move |s| {
            let digest = match reference {
                Reference::Digest(d) => d,
                Reference::Tag(t) => match s.resolve_tag(&name, &t)? {
                    Some(d) => d,
                    None => return Ok(None),
                },
            };
            s.manifest(&name, &digest)
        })
        .await?;
    let m = found.ok_or_else(|| ApiError::manifest_unknown(r))?;
    let resp = Response::builder()
        .header(CONTENT_TYPE, hv(&m.media_type))
        .header(CONTENT_LENGTH, m.bytes.len())
        .header("docker-content-digest", hv(m.digest.as_str()));
    let body = if call.is_head() {
        Body::empty()
    } else {
        Body::from(bytes::Bytes::from_owner(super::Shared(m.bytes)))
    };
    Ok(resp.body(body).unwrap_or_default())
}

/// Layers a registry never receives: their bytes live at their `urls`.
pub(crate) fn is_foreign(d: &Descriptor) -> bool {
    let t = d.media_type.as_str();
    !d.urls.is_empty() || t.contains("nondistributable") || t.contains(".foreign.")
}

async fn put(call: Call, name: RepositoryName, reference: Reference) -> Result<Response, ApiError> {
    let limit = call.state.options.manifest_limit;
    let content_type = call
        .header("content-type")
        .map(|c| c.split(';').next().unwrap_or("").trim().to_owned())
        .unwrap_or_default();
    let bytes = match Limited::new(call.body, limit as usize).collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::SizeInvalid,
                format!("the manifest is larger than {limit} bytes"),
            ))
        }
        Err(e) => {
            return Err(ApiError::manifest_invalid(format!(
                "the body ended early: {e}"
            )))
        }
    };
    let manifest = AnyManifest::from_slice(&bytes, Some(&content_type))
        .map_err(|e| ApiError::manifest_invalid(e.to_string()))?;
    if let Err(e) = manifest.validate() {
        // The image spec asks for at least one layer only for
        // portability (SHOULD); registries store manifests without.
        let lenient = e
            .violations()
            .iter()
            .all(|v| v.path == "$.layers" && v.found == "an empty list");
        if !lenient || e.violations().is_empty() {
            return Err(ApiError::manifest_invalid(e.to_string()));
        }
    }
    let media_type = if content_type.is_empty() {
        manifest.media_type().to_string()
    } else {
        content_type
    };
    let (digest, tag) = match reference {
        Reference::Digest(d) => {
            let algorithm = d
                .registered_algorithm()
                .unwrap_or(ocikit_types::Algorithm::Sha256);
            let found = Digest::compute(algorithm, &bytes);
            if found != d {
                return Err(ApiError::digest_invalid(format!(
                    "the manifest's digest is {found}, not {d}"
                )));
            }
            (d, None)
        }
        Reference::Tag(t) => (Digest::sha256(&bytes), Some(t)),
    };
    let mut tags: Vec<String> = tag.into_iter().collect();
    for (k, v) in &call.query {
        if k == "tag" {
            if !is_tag(v) {
                return Err(ApiError::manifest_invalid(format!("{v:?} is not a tag")));
            }
            tags.push(v.clone());
        }
    }
    let subject = subject_of(&manifest).map(|s| s.digest.clone());
    let referrer = referrer_descriptor(&manifest, &media_type, &digest, bytes.len() as u64);
    let stored = StoredManifest::new(digest.clone(), media_type, bytes);
    let check = call.state.options.references == References::Required;
    let children: Vec<(bool, Digest)> = manifest
        .children()
        .into_iter()
        .filter(|d| check && !is_foreign(d))
        .map(|d| (manifest.is_index(), d.digest.clone()))
        .collect();
    let (n, sub, applied) = (name.clone(), subject.clone(), tags.clone());
    call.state
        .run(move |s| {
            for (is_manifest, child) in &children {
                // Promised first (kept by the collector from now), then
                // checked: a reference found here is not collected
                // before the manifest is stored.
                let present = s.promise_blob(&n, child)?.is_some()
                    && (!*is_manifest || s.manifest(&n, child)?.is_some());
                if !present {
                    return Ok(Err(child.clone()));
                }
            }
            if tags.is_empty() {
                s.put_manifest(&n, &stored, None)?;
            }
            for t in &tags {
                s.put_manifest(&n, &stored, Some(t))?;
            }
            if let (Some(sub), Some(desc)) = (&sub, &referrer) {
                s.add_referrer(&n, sub, desc)?;
            }
            Ok(Ok(()))
        })
        .await?
        .map_err(|missing| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::ManifestBlobUnknown,
                format!("{missing} is not in repository {name}"),
            )
        })?;
    let mut resp = Response::builder()
        .status(StatusCode::CREATED)
        .header(CONTENT_LENGTH, "0")
        .header(LOCATION, hv(format!("/v2/{name}/manifests/{digest}")))
        .header("docker-content-digest", hv(digest.as_str()));
    if let Some(sub) = subject {
        resp = resp.header("oci-subject", hv(sub.as_str()));
    }
    for t in applied {
        resp = resp.header("oci-tag", hv(t));
    }
    Ok(resp.body(Body::empty()).unwrap_or_default())
}

pub(crate) fn subject_of(m: &AnyManifest) -> Option<&Descriptor> {
    match m {
        AnyManifest::Manifest(m) => m.subject.as_ref(),
        AnyManifest::Index(i) => i.subject.as_ref(),
        _ => None,
    }
}

/// How the referrers API lists this manifest (`artifactType`, else the
/// config's media type; its annotations).
pub(crate) fn referrer_descriptor(
    m: &AnyManifest,
    media_type: &str,
    digest: &Digest,
    size: u64,
) -> Option<Descriptor> {
    subject_of(m)?;
    let mt: MediaType = media_type.parse().unwrap_or_else(|_| m.media_type());
    let mut d = Descriptor::new(mt, digest.clone(), size);
    match m {
        AnyManifest::Manifest(m) => {
            d.artifact_type = Some(m.effective_artifact_type().clone());
            d.annotations = m.annotations.clone();
        }
        AnyManifest::Index(i) => {
            d.artifact_type = i.artifact_type.clone();
            d.annotations = i.annotations.clone();
        }
        _ => {}
    }
    Some(d)
}

async fn delete(
    call: Call,
    name: RepositoryName,
    reference: Reference,
    r: &str,
) -> Result<Response, ApiError> {
    if call.state.options.deletes == Deletes::Disabled {
        return Err(ApiError::deletes_disabled());
    }
    let deleted = call
        .state
        .run(move |s| match reference {
            Reference::Tag(t) => s.delete_tag(&name, &t),
            Reference::Digest(d) => {
                let Some(m) = s.manifest(&name, &d)? else {
                    return Ok(false);
                };
                if let Ok(parsed) = AnyManifest::from_slice(&m.bytes, Some(&m.media_type)) {
                    if let Some(sub) = subject_of(&parsed) {
                        s.remove_referrer(&name, &sub.digest, &d)?;
                    }
                }
                s.delete_manifest(&name, &d)
            }
        })
        .await?;
    if !deleted {
        return Err(ApiError::manifest_unknown(r));
    }
    Ok(Response::builder()
        .status(StatusCode::ACCEPTED)
        .header(CONTENT_LENGTH, "0")
        .body(Body::empty())
        .unwrap_or_default())
}
