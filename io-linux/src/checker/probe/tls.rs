//! The TLS client of SSL_GET, built once from the config's `SSL{}` block
//! (`build_ssl_ctx()`, `keepalived/check/check_ssl.c`).
//!
//! Server certificates: keepalived loads `ca` into its OpenSSL context but never asks for
//! peer verification (no `SSL_CTX_set_verify(SSL_VERIFY_PEER)`), so in keepalived a bad
//! certificate never fails a check. Here:
//! - without `ca`, the server certificate is **not verified** (any certificate, any name,
//!   expired or self-signed, is accepted): the check is about the service answering, as
//!   in keepalived. The handshake signature is still checked, so the server must hold the
//!   key of the certificate it shows;
//! - with `ca`, the chain must lead to that CA and be within its validity dates; the name
//!   is checked against the SNI name when one is sent (`enable_sni`/`sni_name`), and not
//!   when the check connects by address (real servers' certificates rarely carry their
//!   address). This is stricter than keepalived, on purpose: a configured CA that is
//!   never used would be a false sense of security.
//!
//! `certificate`/`key` (PEM) are the client certificate offered to servers that ask;
//! without `key`, the key is looked for in the certificate file. Encrypted keys
//! (`password`) are not supported: the error says so. TLS 1.2 and 1.3 only (rustls has
//! no TLS 1.0/1.1); SSL_GET against a server that speaks only those fails.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use keepalived_engine::config::model::SslConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme,
};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("SSL: cannot read {what} {path}: {reason}")]
    File {
        what: &'static str,
        path: String,
        reason: String,
    },
    #[error("SSL: no certificate in CA file {0}")]
    EmptyCa(String),
    #[error("SSL: `password` is set: encrypted private keys are not supported; decrypt {0}")]
    EncryptedKey(String),
    #[error("SSL: {0}")]
    Rustls(#[from] Error),
}

/// The client TLS configuration every SSL_GET probe shares.
#[derive(Clone)]
pub struct TlsSetup {
    config: Arc<ClientConfig>,
    verifies: bool,
}

impl fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSetup")
            .field("verifies", &self.verifies)
            .finish()
    }
}

impl Default for TlsSetup {
    /// No `SSL{}` block: keepalived's automatic context, no verification, no client
    /// certificate.
    fn default() -> TlsSetup {
        TlsSetup::new(None).expect("a TLS setup without files cannot fail")
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsSetup {
    /// From the `SSL{}` block, if any. Fails when a file cannot be read or holds no
    /// usable certificate or key.
    pub fn new(ssl: Option<&SslConfig>) -> Result<TlsSetup, TlsError> {
        let provider = provider();
        let ca = ssl.and_then(|s| s.ca.as_deref());
        let webpki = match ca {
            None => None,
            Some(path) => {
                let mut roots = RootCertStore::empty();
                for c in read_certs("CA file", path)? {
                    roots.add(c)?;
                }
                if roots.is_empty() {
                    return Err(TlsError::EmptyCa(path.to_string()));
                }
                Some(
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| Error::General(e.to_string()))?,
                )
            }
        };
        let verifier = Arc::new(Verifier {
            webpki,
            provider: provider.clone(),
        });
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let cert = ssl.and_then(|s| s.certificate.as_deref());
        let config = match cert {
            None => builder.with_no_client_auth(),
            Some(cert_path) => {
                let chain = read_certs("certificate", cert_path)?;
                let key_path = ssl.and_then(|s| s.key.as_deref()).unwrap_or(cert_path);
                let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
                    if ssl.is_some_and(|s| s.password.is_some()) {
                        TlsError::EncryptedKey(key_path.to_string())
                    } else {
                        TlsError::File {
                            what: "key",
                            path: key_path.to_string(),
                            reason: e.to_string(),
                        }
                    }
                })?;
                builder.with_client_auth_cert(chain, key)?
            }
        };
        Ok(TlsSetup {
            config: Arc::new(config),
            verifies: ca.is_some(),
        })
    }

    /// Whether server certificates are verified (a CA was given).
    pub fn verifies(&self) -> bool {
        self.verifies
    }

    pub(crate) fn connector(&self) -> tokio_rustls::TlsConnector {
        tokio_rustls::TlsConnector::from(self.config.clone())
    }
}

fn read_certs(what: &'static str, path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |reason: String| TlsError::File {
        what,
        path: path.to_string(),
        reason,
    };
    CertificateDer::pem_file_iter(Path::new(path))
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))
}

/// See the module documentation: no verification without a CA; with one, the chain, and
/// the name only when it is a name we asked for by SNI.
#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if matches!(server_name, ServerName::IpAddress(_)) => {
                Ok(ServerCertVerified::assertion())
            }
            r => r,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
