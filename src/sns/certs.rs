//! Getting a signing certificate for a message, before anything about the message is
//! trusted: so it must not let strangers make derivd fetch at will. Good certificates are
//! cached ([`CertCache`]); a URL whose fetch failed is remembered for a while and refused
//! without another fetch (a negative cache); and at most one fetch runs at a time, so a
//! burst of forged requests naming one bad URL costs one fetch, not one per request.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use super::cert::{CertCache, SigningCert, MAX_CERT_BYTES};
use super::fetch::{FetchError, Fetcher};
use super::url::SnsUrl;
use super::{forbid, reason, reject, Rejection};

/// How long a refused URL (4xx, not a certificate) is refused without a fetch.
const REFUSED_FOR: Duration = Duration::from_secs(300);
/// How long an unreachable URL (timeout, 5xx) is: short, SNS retries its deliveries.
const UNAVAILABLE_FOR: Duration = Duration::from_secs(10);
/// Failed URLs remembered at most (oldest forgotten first).
const FAILED_ENTRIES: usize = 64;

pub(super) struct Certs {
    good: CertCache,
    failed: Mutex<VecDeque<(String, Instant, Rejection)>>,
    /// Held while fetching: one fetch at a time.
    fetching: tokio::sync::Mutex<()>,
    fetcher: Fetcher,
    /// `sns.insecure_test_cert_base_url`.
    test_base: Option<String>,
}

impl Certs {
    pub fn new(entries: usize, fetcher: Fetcher, test_base: Option<String>) -> Certs {
        Certs {
            good: CertCache::new(entries),
            failed: Mutex::new(VecDeque::new()),
            fetching: tokio::sync::Mutex::new(()),
            fetcher,
            test_base,
        }
    }

    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// The certificate at `url`: cached, refused as recently failed, or fetched.
    pub async fn get(&self, url: &SnsUrl) -> Result<Arc<SigningCert>, Rejection> {
        let key = url.fetch_url(None);
        if let Some(known) = self.known(&key) {
            return known;
        }
        let _one_at_a_time = self.fetching.lock().await;
        // Another request may have fetched it while this one waited.
        if let Some(known) = self.known(&key) {
            return known;
        }
        let fetched = self.fetch(url, &key).await;
        match &fetched {
            Ok(cert) => self.good.insert(&key, cert.clone()),
            Err(r) => self.remember_failure(&key, r.clone()),
        }
        fetched
    }

    fn known(&self, key: &str) -> Option<Result<Arc<SigningCert>, Rejection>> {
        if let Some(c) = self.good.get(key) {
            return Some(Ok(c));
        }
        let mut failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        failed.retain(|(_, until, _)| *until > now);
        let (_, _, r) = failed.iter().find(|(u, _, _)| u == key)?;
        Some(Err(r.clone()))
    }

    fn remember_failure(&self, key: &str, r: Rejection) {
        let ttl = match r.status {
            StatusCode::SERVICE_UNAVAILABLE => UNAVAILABLE_FOR,
            _ => REFUSED_FOR,
        };
        let mut failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        failed.retain(|(u, _, _)| u != key);
        while failed.len() >= FAILED_ENTRIES {
            failed.pop_front();
        }
        failed.push_back((key.to_string(), Instant::now() + ttl, r));
    }

    async fn fetch(&self, url: &SnsUrl, key: &str) -> Result<Arc<SigningCert>, Rejection> {
        let pem = self
            .fetcher
            .get(&url.fetch_url(self.test_base.as_deref()), MAX_CERT_BYTES)
            .await
            .map_err(|err| match err {
                FetchError::Unavailable { .. } => reject(
                    StatusCode::SERVICE_UNAVAILABLE,
                    reason::CERT_UNAVAILABLE,
                    err.to_string(),
                ),
                FetchError::Refused { .. } => forbid(reason::BAD_CERT, err.to_string()),
            })?;
        let cert = SigningCert::from_pem(&pem)
            .map_err(|err| forbid(reason::BAD_CERT, format!("{key}: {err}")))?;
        Ok(Arc::new(cert))
    }
}
