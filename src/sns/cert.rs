//! Signing certificates: parsed to an RSA public key and validity dates, checked against
//! message signatures, and cached by URL.
//!
//! Trust comes from where the certificate was fetched (an SNS host over TLS, see
//! [`super::url`]), as in AWS's own SDK validators, so no chain is built. The validity dates
//! are checked on every use, so a cached certificate stops working when it expires. The
//! cache is bounded and evicts the oldest entry: SNS rotates certificates rarely, and each
//! rotation comes with a new URL.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::Certificate;

use super::envelope::SignatureVersion;

/// Largest certificate file accepted (AWS's are about 2 KiB).
pub const MAX_CERT_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable signing certificate: {0}")]
pub struct CertError(String);

/// What derivd keeps of a signing certificate.
#[derive(Debug, Clone)]
pub struct SigningCert {
    key: RsaPublicKey,
    /// Since the Unix epoch.
    not_before: Duration,
    not_after: Duration,
}

impl SigningCert {
    /// The first certificate of a PEM file; its key must be RSA.
    pub fn from_pem(pem: &[u8]) -> Result<SigningCert, CertError> {
        let cert = Certificate::from_pem(first_pem_block(pem)?)
            .map_err(|e| CertError(format!("not a PEM certificate: {e}")))?;
        let tbs = &cert.tbs_certificate;
        let spki = tbs
            .subject_public_key_info
            .to_der()
            .map_err(|e| CertError(format!("public key: {e}")))?;
        let key = RsaPublicKey::from_public_key_der(&spki)
            .map_err(|e| CertError(format!("not an RSA public key: {e}")))?;
        Ok(SigningCert {
            key,
            not_before: tbs.validity.not_before.to_unix_duration(),
            not_after: tbs.validity.not_after.to_unix_duration(),
        })
    }

    /// Whether `now` (since the Unix epoch) lies within the validity dates.
    pub fn valid_at(&self, now: Duration) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    pub fn valid_now(&self) -> bool {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        self.valid_at(now)
    }

    /// Whether `signature` (raw bytes) is this key's PKCS#1 v1.5 signature of `text`.
    pub fn verifies(&self, version: SignatureVersion, text: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = Signature::try_from(signature) else {
            return false;
        };
        match version {
            SignatureVersion::Sha1 => VerifyingKey::<sha1::Sha1>::new(self.key.clone())
                .verify(text, &sig)
                .is_ok(),
            SignatureVersion::Sha256 => VerifyingKey::<sha2::Sha256>::new(self.key.clone())
                .verify(text, &sig)
                .is_ok(),
        }
    }
}

/// The first `CERTIFICATE` block of a PEM file. (Not `Certificate::load_pem_chain`: in
/// x509-cert 0.2 it panics on an empty file.)
fn first_pem_block(pem: &[u8]) -> Result<&[u8], CertError> {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let find = |from: usize, needle: &[u8]| {
        pem.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| from + i)
    };
    let start = find(0, BEGIN).ok_or_else(|| CertError("no certificate in the PEM file".into()))?;
    let end = find(start, END).ok_or_else(|| CertError("unterminated PEM certificate".into()))?;
    Ok(&pem[start..end + END.len()])
}

/// Certificates by URL, at most `capacity`, oldest evicted first.
pub struct CertCache {
    capacity: usize,
    entries: Mutex<VecDeque<(String, Arc<SigningCert>)>>,
}

impl CertCache {
    pub fn new(capacity: usize) -> CertCache {
        CertCache {
            capacity: capacity.max(1),
            entries: Mutex::new(VecDeque::new()),
        }
    }

    pub fn get(&self, url: &str) -> Option<Arc<SigningCert>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .iter()
            .find(|(u, _)| u == url)
            .map(|(_, c)| c.clone())
    }

    pub fn insert(&self, url: &str, cert: Arc<SigningCert>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|(u, _)| u != url);
        while entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back((url.to_string(), cert));
    }
}
