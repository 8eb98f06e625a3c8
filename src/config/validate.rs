//! Start-up validation of a loaded [`Config`]: every error names the offending key.

use super::{invalid, Config, ConfigError};

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.validate_limits_and_queues()?;
        self.validate_buckets()?;
        self.validate_http()?;
        self.sns.validate()?;
        self.media.validate()?;
        self.provision.validate(&self.bucket_mappings())?;
        self.validate_roles()
    }

    fn validate_limits_and_queues(&self) -> Result<(), ConfigError> {
        if let Err((key, why)) = self.limits.validate() {
            return Err(invalid(&format!("limits.{key}"), why));
        }
        if self.queue.jobs.is_empty() {
            return Err(invalid("queue.jobs", "must name the job queue"));
        }
        if !(1..=20).contains(&self.queue.wait_secs) {
            return Err(invalid(
                "queue.wait_secs",
                "must be 1..=20 (SQS allows at most 20; 0 would poll in a busy loop)",
            ));
        }
        if self.worker.retry_backoff_secs == 0 {
            return Err(invalid("worker.retry_backoff_secs", "must be at least 1"));
        }
        if self.queue.visibility_timeout_secs == 0 || self.queue.visibility_timeout_secs > 43_200 {
            return Err(invalid(
                "queue.visibility_timeout_secs",
                "must be 1..=43200",
            ));
        }
        if self.queue.max_receives == 0 {
            return Err(invalid("queue.max_receives", "must be at least 1"));
        }
        if self.worker.job_timeout_secs == 0 {
            return Err(invalid("worker.job_timeout_secs", "must be at least 1"));
        }
        if !(1..=10).contains(&self.aws.max_attempts) {
            return Err(invalid("aws.max_attempts", "must be 1..=10"));
        }
        if !(1..=20_000).contains(&self.aws.retry_initial_backoff_ms) {
            return Err(invalid("aws.retry_initial_backoff_ms", "must be 1..=20000"));
        }
        if self.worker.memory_budget_bytes < (16 << 20) {
            return Err(invalid(
                "worker.memory_budget_bytes",
                "must be at least 16 MiB",
            ));
        }
        Ok(())
    }

    fn validate_buckets(&self) -> Result<(), ConfigError> {
        if self.storage.default_bucket.is_empty() {
            return Err(invalid("storage.default_bucket", "must not be empty"));
        }
        if !self.storage.buckets.is_empty()
            && !self
                .storage
                .buckets
                .iter()
                .any(|b| b.source == self.storage.default_bucket)
        {
            return Err(invalid(
                "storage.default_bucket",
                "must be one of storage.buckets[].source (jobs without a bucket use it)",
            ));
        }
        let mut seen: Vec<(String, String)> = Vec::new();
        for (i, b) in self.storage.buckets.iter().enumerate() {
            if !b.prefix.is_empty() && !b.prefix.ends_with('/') {
                return Err(invalid(
                    &format!("storage.buckets[{i}].prefix"),
                    "must end with '/' (or be empty for a derived bucket of its own)",
                ));
            }
            let derived = b.derived_bucket.as_deref().unwrap_or(&b.source);
            // Nested prefixes in one bucket would let a derived key parse back to two
            // sources.
            if let Some((_, other)) = seen.iter().find(|(d, p)| {
                d == derived && (p.starts_with(&b.prefix) || b.prefix.starts_with(p.as_str()))
            }) {
                return Err(invalid(
                    &format!("storage.buckets[{i}]"),
                    format!(
                        "derived bucket {derived:?} with prefix {:?} overlaps prefix {other:?} \
                         of another source bucket; a derived key must lead back to exactly \
                         one source",
                        b.prefix
                    ),
                ));
            }
            seen.push((derived.to_string(), b.prefix.clone()));
        }
        for (i, b) in self.storage.buckets.iter().enumerate() {
            let derived = b.derived_bucket.as_deref().unwrap_or(&b.source);
            if derived == b.source && b.prefix.is_empty() {
                return Err(invalid(
                    &format!("storage.buckets[{i}].prefix"),
                    "must not be empty when derived objects share the source bucket",
                ));
            }
        }
        Ok(())
    }

    fn validate_http(&self) -> Result<(), ConfigError> {
        if let Some(token) = &self.http.auth_token {
            if token.len() < 16 {
                return Err(invalid("http.auth_token", "must be at least 16 characters"));
            }
        }
        if let Some(listen) = &self.http.listen {
            let addr: std::net::SocketAddr = listen
                .parse()
                .map_err(|e| invalid("http.listen", format!("{e}")))?;
            if !addr.ip().is_loopback() && self.http.auth_token.is_none() {
                return Err(invalid(
                    "http.auth_token",
                    "required when http.listen is not a loopback address",
                ));
            }
        }
        if self.http.url_signing_key.iter().any(|k| k.len() < 32) {
            return Err(invalid(
                "http.url_signing_key",
                "every key must be at least 32 characters",
            ));
        }
        if self.http.url_signature_skew_secs > 3_600 {
            return Err(invalid(
                "http.url_signature_skew_secs",
                "must be at most 3600 (an hour)",
            ));
        }
        if self.http.ensure_ttl_secs > 86_400 {
            return Err(invalid(
                "http.ensure_ttl_secs",
                "must be at most 86400 (a day)",
            ));
        }
        self.validate_http_limits()
    }

    fn validate_http_limits(&self) -> Result<(), ConfigError> {
        let h = &self.http;
        for (key, v) in [
            ("http.header_timeout_secs", h.header_timeout_secs),
            ("http.body_timeout_secs", h.body_timeout_secs),
        ] {
            if !(1..=3600).contains(&v) {
                return Err(invalid(key, "must be 1..=3600"));
            }
        }
        if h.max_connections == 0 {
            return Err(invalid("http.max_connections", "must be at least 1"));
        }
        for (i, host) in h.allowed_hosts.iter().enumerate() {
            if !valid_host_name(host) {
                return Err(invalid(
                    &format!("http.allowed_hosts[{i}]"),
                    format!("{host:?} is not a host name without a port (IPv6 in brackets)"),
                ));
            }
        }
        Ok(())
    }
}

/// A DNS name, IPv4 address or bracketed IPv6 address, without a port.
fn valid_host_name(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}
