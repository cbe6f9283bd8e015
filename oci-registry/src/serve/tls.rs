//! TLS with rustls: the certificate chain and key are read from PEM
//! files and can be read again while serving. A reload swaps what the next
//! handshakes present; connections already open keep theirs. A reload
//! that fails (a missing file, a key that does not match) changes nothing.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

use super::Http2;
use crate::Error;

/// A TLS setup: the server configuration and the certificate it presents.
#[derive(Debug)]
pub(crate) struct Tls {
    resolver: Arc<Reloadable>,
    config: Arc<ServerConfig>,
}

impl Tls {
    /// Reads the chain at `certificate` and the key at `key`; offers
    /// HTTP/2 through ALPN unless `http2` is disabled.
    pub(crate) fn load(certificate: &Path, key: &Path, http2: Http2) -> Result<Tls, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let current = load_pair(certificate, key, &provider)?;
        let resolver = Arc::new(Reloadable {
            certificate: certificate.to_owned(),
            key: key.to_owned(),
            provider: provider.clone(),
            current: RwLock::new(current),
        });
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|source| Error::TlsKey {
                certificate: certificate.to_owned(),
                key: key.to_owned(),
                source: Box::new(source),
            })?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        config.alpn_protocols = match http2 {
            Http2::Enabled => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            Http2::Disabled => vec![b"http/1.1".to_vec()],
        };
        Ok(Tls {
            resolver,
            config: Arc::new(config),
        })
    }

    /// Reads the files again; on failure the previous certificate stays.
    pub(crate) fn reload(&self) -> Result<(), Error> {
        let r = &self.resolver;
        let fresh = load_pair(&r.certificate, &r.key, &r.provider)?;
        *r.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        tracing::debug!(certificate = %r.certificate.display(), "TLS certificate reloaded");
        Ok(())
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
    }
}

/// The certificate presented to every client, replaced on reload.
#[derive(Debug)]
struct Reloadable {
    certificate: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Reloadable {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

/// The chain and key, checked to belong together.
fn load_pair(
    certificate: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, Error> {
    let pem = std::fs::read(certificate).map_err(|e| Error::io("read", certificate, e))?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::TlsFile {
            path: certificate.to_owned(),
            expected: "PEM certificates",
            source: Some(Box::new(e)),
        })?;
    if chain.is_empty() {
        return Err(Error::TlsFile {
            path: certificate.to_owned(),
            expected: "PEM certificates",
            source: None,
        });
    }
    let pem = std::fs::read(key).map_err(|e| Error::io("read", key, e))?;
    let der = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| Error::TlsFile {
        path: key.to_owned(),
        expected: "a PEM private key",
        source: Some(Box::new(e)),
    })?;
    let pair = CertifiedKey::from_der(chain, der, provider).map_err(|e| Error::TlsKey {
        certificate: certificate.to_owned(),
        key: key.to_owned(),
        source: Box::new(e),
    })?;
    Ok(Arc::new(pair))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_wrong_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("text.pem");
        std::fs::write(&text, "not a certificate\n").unwrap();
        let e = Tls::load(&dir.path().join("none"), &text, Http2::Enabled).unwrap_err();
        assert!(e.to_string().contains("none"), "{e}");
        let e = Tls::load(&text, &text, Http2::Enabled).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{} does not hold PEM certificates", text.display())
        );
    }
}
