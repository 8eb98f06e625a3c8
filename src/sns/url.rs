//! Which URLs a message may make derivd fetch: only `https://sns.<region>.amazonaws.com`
//! (or `.amazonaws.com.cn`) with the default port and no user info.
//!
//! `SigningCertURL` and `SubscribeURL` come from the request body, before anything in it is
//! trusted, so they are matched against an exact pattern rather than parsed leniently: a
//! suffix check would accept `sns.us-east-1.amazonaws.com.evil.com`, a general URL parser
//! would resolve `https://sns.us-east-1.amazonaws.com@evil.com/`. The host is the text
//! between `https://` and the first `/` or `?`, and it must be the SNS host entirely.

use axum::http::uri::PathAndQuery;

/// A validated URL on an SNS host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsUrl {
    host: String,
    /// Starts with `/`.
    path_and_query: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("scheme must be https")]
    NotHttps,
    #[error("contains a space, a control, non-ASCII, '#' or '\\' character")]
    BadCharacter,
    #[error("host {0:?} is not sns.<region>.amazonaws.com[.cn] (no port, no user info)")]
    NotSnsHost(String),
    #[error("a signing certificate URL must have a path ending in .pem and no query")]
    NotPem,
    #[error("invalid path or query")]
    BadPath,
}

impl SnsUrl {
    pub fn host(&self) -> &str {
        &self.host
    }

    #[cfg(test)]
    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }

    /// What to fetch: this URL, or (tests only) the same path and query under `test_base`.
    pub fn fetch_url(&self, test_base: Option<&str>) -> String {
        match test_base {
            Some(base) => format!("{}{}", base.trim_end_matches('/'), self.path_and_query),
            None => format!("https://{}{}", self.host, self.path_and_query),
        }
    }
}

/// A `SigningCertURL`: an SNS URL whose path ends in `.pem`, without a query.
pub fn signing_cert_url(s: &str) -> Result<SnsUrl, UrlError> {
    let url = sns_url(s)?;
    if url.path_and_query.contains('?') || !url.path_and_query.ends_with(".pem") {
        return Err(UrlError::NotPem);
    }
    Ok(url)
}

/// A `SubscribeURL`: any path and query on an SNS host.
pub fn subscribe_url(s: &str) -> Result<SnsUrl, UrlError> {
    sns_url(s)
}

fn sns_url(s: &str) -> Result<SnsUrl, UrlError> {
    let rest = s.strip_prefix("https://").ok_or(UrlError::NotHttps)?;
    if !s.bytes().all(|b| b.is_ascii_graphic()) || s.contains(['#', '\\']) {
        return Err(UrlError::BadCharacter);
    }
    let (host, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    if !is_sns_host(host) {
        return Err(UrlError::NotSnsHost(host.chars().take(100).collect()));
    }
    let path_and_query = match tail {
        "" => "/".to_string(),
        t if t.starts_with('?') => format!("/{t}"),
        t => t.to_string(),
    };
    // What the HTTP client will send must be exactly this; refuse what it would reject.
    PathAndQuery::try_from(path_and_query.as_str()).map_err(|_| UrlError::BadPath)?;
    Ok(SnsUrl {
        host: host.to_string(),
        path_and_query,
    })
}

/// `sns.<region>.amazonaws.com` or `sns.<region>.amazonaws.com.cn`, lower case, exactly.
pub fn is_sns_host(host: &str) -> bool {
    let Some(rest) = host.strip_prefix("sns.") else {
        return false;
    };
    rest.strip_suffix(".amazonaws.com")
        .or_else(|| rest.strip_suffix(".amazonaws.com.cn"))
        .is_some_and(is_region)
}

/// An AWS region name: `us-east-1`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-7`: a
/// two-letter area, then lower-case words, then a number, joined by `-`.
fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    let word = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    parts.len() >= 3
        && first.len() == 2
        && word(first)
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
        && parts[1..parts.len() - 1].iter().all(|p| word(p))
}
