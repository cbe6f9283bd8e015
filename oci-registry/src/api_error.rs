//! Failed requests as the spec's error bodies: one place maps each
//! failure to its status and code.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ocikit_types::{ErrorCode, ErrorResponse, RegistryError};

use crate::Error;

/// A request's failure: status, spec error code, message and any headers
/// the reply needs (a 416's `Range`).
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    pub(crate) fn header(mut self, name: HeaderName, value: String) -> Self {
        if let Ok(v) = HeaderValue::try_from(value) {
            self.headers.push((name, v));
        }
        self
    }

    pub(crate) fn name_invalid(name: &str) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::NameInvalid,
            format!("invalid repository name {name:?}"),
        )
    }

    pub(crate) fn digest_invalid(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::DigestInvalid, message)
    }

    pub(crate) fn blob_unknown(digest: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::BlobUnknown,
            format!("blob {digest} is unknown to this repository"),
        )
    }

    pub(crate) fn upload_unknown(id: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::BlobUploadUnknown,
            format!("upload {id} is unknown"),
        )
    }

    pub(crate) fn manifest_unknown(reference: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::ManifestUnknown,
            format!("manifest {reference} is unknown to this repository"),
        )
    }

    pub(crate) fn manifest_invalid(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::ManifestInvalid, message)
    }

    pub(crate) fn deletes_disabled() -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Unsupported,
            "deletes are disabled on this registry",
        )
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Unsupported,
            message,
        )
    }

    pub(crate) fn body_failed(e: axum::Error) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BlobUploadInvalid,
            format!("the request body ended early: {e}"),
        )
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        // The client sees a generic failure; the operator sees the chain.
        tracing::warn!(error = &e as &dyn std::error::Error, "storage failure");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unknown,
            "the registry's storage failed",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorResponse::new(vec![RegistryError::new(self.code, self.message)]);
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut resp = (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response();
        for (name, value) in self.headers {
            resp.headers_mut().insert(name, value);
        }
        resp
    }
}
