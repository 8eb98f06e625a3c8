//! GETs for signing certificates and subscription confirmations, over the hyper + rustls
//! stack the AWS SDK already builds (native root certificates, no redirects followed).
//!
//! Callers pass only URLs that [`super::url`] validated. Nothing here follows a redirect:
//! a 3xx is a refusal, so no URL other than the validated one is ever fetched. Bodies are
//! read up to a limit and every fetch has a time limit. With the test-only base URL set
//! (`sns.insecure_test_cert_base_url`), plain-HTTP targets are allowed as well.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Could not ask or got no usable answer: connection, TLS, time limit, 5xx. Retrying
    /// later may help.
    #[error("fetching {url} failed: {reason}")]
    Unavailable { url: String, reason: String },
    /// The server answered with a refusal (3xx, 4xx) or too large a body.
    #[error("fetching {url}: {reason}")]
    Refused { url: String, reason: String },
}

pub struct Fetcher {
    /// `None` when no TLS client could be built (no root certificates): every fetch fails.
    client: Option<Client<HttpsConnector<HttpConnector>, Empty<Bytes>>>,
    timeout: Duration,
}

impl Fetcher {
    pub fn new(timeout: Duration, allow_plain_http: bool) -> Fetcher {
        let client = match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
            Ok(b) => {
                let b = if allow_plain_http {
                    b.https_or_http()
                } else {
                    b.https_only()
                };
                Some(Client::builder(TokioExecutor::new()).build(b.enable_http1().build()))
            }
            Err(e) => {
                tracing::error!(error = %e, "no TLS root certificates: SNS certificates cannot be fetched");
                None
            }
        };
        Fetcher { client, timeout }
    }

    /// GETs `url`; a 2xx answer's body (at most `max_bytes`), else an error.
    pub async fn get(&self, url: &str, max_bytes: usize) -> Result<Bytes, FetchError> {
        let unavailable = |reason: String| FetchError::Unavailable {
            url: url.to_string(),
            reason,
        };
        let refused = |reason: String| FetchError::Refused {
            url: url.to_string(),
            reason,
        };
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| unavailable("no TLS root certificates".into()))?;
        let uri: axum::http::Uri = url.parse().map_err(|e| refused(format!("{e}")))?;
        let work = async {
            let resp = client
                .get(uri)
                .await
                .map_err(|e| unavailable(format!("{e}")))?;
            let status = resp.status();
            if status.is_server_error() {
                return Err(unavailable(format!("HTTP {status}")));
            }
            if !status.is_success() {
                return Err(refused(format!("HTTP {status}")));
            }
            let body = Limited::new(resp.into_body(), max_bytes)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        refused(format!("body over {max_bytes} bytes"))
                    } else {
                        unavailable(format!("reading the body: {e}"))
                    }
                })?;
            Ok(body.to_bytes())
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| unavailable(format!("no answer within {:?}", self.timeout)))?
    }
}
