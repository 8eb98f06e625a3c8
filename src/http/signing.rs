//! Signed URLs for public reads: with `http.url_signing_key` set, `GET /v1/derived/…` can
//! sit behind a CDN on the internet without handing out the bearer token.
//!
//! A signed URL carries `expires` (Unix seconds) and `sig`: lowercase hex of
//! HMAC-SHA256(key, canonical), where canonical is
//!
//! ```text
//! METHOD \n PATH-AS-SENT \n SORTED-QUERY-WITHOUT-SIG \n EXPIRES
//! ```
//!
//! The path is the request target's path exactly as sent (still percent-encoded), so a
//! proxy that rewrites it breaks the signature instead of reaching another object. The
//! query pairs (every one but `sig`, `expires` included) are decoded, sorted by name then
//! value, and re-encoded as `application/x-www-form-urlencoded`: the order and the escaping
//! style a client chose do not matter, but every parameter (`bucket` among them) is signed.
//!
//! Keys rotate: the first key of the list signs, every key verifies, so a new key is put
//! first, and the old one removed once the URLs it signed have expired. Signatures are
//! compared in constant time (`hmac`'s `verify_slice`); an expiry up to `skew` seconds in
//! the past is still accepted, for clocks that differ between signer and server.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a request's signature is not accepted (all the client's fault: 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the URL is not signed (expires and sig are required)")]
    Missing,
    #[error("malformed signed URL: {0}")]
    Malformed(&'static str),
    #[error("the signed URL expired")]
    Expired,
    #[error("the signature does not match the URL")]
    Mismatch,
}

/// The configured signing keys and clock-skew allowance.
#[derive(Clone)]
pub struct UrlSigner {
    /// Newest first: the first signs, any verifies.
    keys: Vec<Vec<u8>>,
    skew_secs: u64,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys are secrets: never printed.
        write!(
            f,
            "UrlSigner({} keys, skew {} s)",
            self.keys.len(),
            self.skew_secs
        )
    }
}

impl UrlSigner {
    /// `None` when no key is configured (signed URLs off).
    pub fn new(keys: &[String], skew_secs: u64) -> Option<UrlSigner> {
        (!keys.is_empty()).then(|| UrlSigner {
            keys: keys.iter().map(|k| k.as_bytes().to_vec()).collect(),
            skew_secs,
        })
    }

    /// `path_and_query` (as it will be sent, e.g. `/v1/derived/thumb-256/a%20b.jpg?bucket=x`)
    /// with `expires` and `sig` appended, signed with the newest key for `GET`.
    pub fn sign(&self, path_and_query: &str, expires: u64) -> String {
        let (path, query) = split(path_and_query);
        let mut pairs = pairs(query.unwrap_or(""));
        pairs.retain(|(k, _)| k != "expires" && k != "sig");
        pairs.push(("expires".into(), expires.to_string()));
        let mac = keyed(&self.keys[0], "GET", path, &pairs, expires);
        let sig = hex::encode(mac.finalize().into_bytes());
        let mut out = form_urlencoded::Serializer::new(String::new());
        out.extend_pairs(&pairs).append_pair("sig", &sig);
        format!("{path}?{}", out.finish())
    }

    /// Checks the signature of a `method` request for `path` (as sent) with `query`, at
    /// Unix time `now`; on success, the URL's expiry.
    pub fn verify(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        now: u64,
    ) -> Result<u64, SignatureError> {
        let mut pairs = pairs(query.unwrap_or(""));
        let (Some(sig), Some(expires)) =
            (take_one(&mut pairs, "sig")?, find_one(&pairs, "expires")?)
        else {
            return Err(SignatureError::Missing);
        };
        let expires: u64 = expires
            .parse()
            .map_err(|_| SignatureError::Malformed("expires is not a Unix time"))?;
        let sig = hex::decode(sig).map_err(|_| SignatureError::Malformed("sig is not hex"))?;
        let valid = self.keys.iter().any(|key| {
            let mac = keyed(key, method, path, &pairs, expires);
            mac.verify_slice(&sig).is_ok()
        });
        if !valid {
            return Err(SignatureError::Mismatch);
        }
        // Judged after the signature, so an attacker learns nothing about expiry rules
        // from unsigned URLs.
        if now > expires.saturating_add(self.skew_secs) {
            return Err(SignatureError::Expired);
        }
        Ok(expires)
    }
}

/// HMAC-SHA256 under `key` over the canonical string (module docs).
fn keyed(
    key: &[u8],
    method: &str,
    path: &str,
    pairs: &[(String, String)],
    expires: u64,
) -> HmacSha256 {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(sorted.iter().map(|(k, v)| (k, v)));
    let canonical = format!("{method}\n{path}\n{}\n{expires}", query.finish());
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(canonical.as_bytes());
    mac
}

fn split(path_and_query: &str) -> (&str, Option<&str>) {
    match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    }
}

fn pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The value of `name`, removed from `pairs`; given twice is malformed (which one would
/// count would be a guess).
fn take_one(
    pairs: &mut Vec<(String, String)>,
    name: &str,
) -> Result<Option<String>, SignatureError> {
    let v = find_one(pairs, name)?;
    pairs.retain(|(k, _)| k != name);
    Ok(v)
}

fn find_one(pairs: &[(String, String)], name: &str) -> Result<Option<String>, SignatureError> {
    let mut found = pairs.iter().filter(|(k, _)| k == name);
    match (found.next(), found.next()) {
        (_, Some(_)) => Err(SignatureError::Malformed("a parameter is given twice")),
        (v, None) => Ok(v.map(|(_, v)| v.clone())),
    }
}

/// The Unix time now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(keys: &[&str]) -> UrlSigner {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        UrlSigner::new(&keys, 30).unwrap()
    }

    fn parts(url: &str) -> (&str, Option<&str>) {
        split(url)
    }

    const PATH: &str = "/v1/derived/thumb-256/uploads/a%20b.jpg?bucket=photos";

    #[test]
    fn a_signed_url_verifies_until_it_expires_plus_the_skew() {
        let s = signer(&["k-new-0123456789abcdef"]);
        let url = s.sign(PATH, 1_000);
        let (p, q) = parts(&url);
        assert_eq!(s.verify("GET", p, q, 900), Ok(1_000));
        assert_eq!(s.verify("GET", p, q, 1_030), Ok(1_000));
        assert_eq!(s.verify("GET", p, q, 1_031), Err(SignatureError::Expired));
    }

    #[test]
    fn tampering_with_path_query_method_or_expiry_breaks_it() {
        let s = signer(&["k-new-0123456789abcdef"]);
        let url = s.sign(PATH, 1_000);
        let (p, q) = parts(&url);
        let q = q.unwrap();
        let mismatch = Err(SignatureError::Mismatch);
        let other_path = p.replace("a%20b", "a%20c");
        assert_eq!(s.verify("GET", &other_path, Some(q), 0), mismatch);
        let other_bucket = q.replace("bucket=photos", "bucket=private");
        assert_eq!(s.verify("GET", p, Some(&other_bucket), 0), mismatch);
        let extra = format!("{q}&x=1");
        assert_eq!(s.verify("GET", p, Some(&extra), 0), mismatch);
        let later = q.replace("expires=1000", "expires=9000");
        assert_eq!(s.verify("GET", p, Some(&later), 0), mismatch);
        assert_eq!(s.verify("HEAD", p, Some(q), 0), mismatch);
        // Order of the parameters does not matter; a repeated parameter was not signed,
        // and a repeated sig or expiry is refused outright.
        let reordered: Vec<&str> = q.split('&').rev().collect();
        assert_eq!(s.verify("GET", p, Some(&reordered.join("&")), 0), Ok(1_000));
        let twice = format!("{q}&bucket=photos");
        assert_eq!(s.verify("GET", p, Some(&twice), 0), mismatch);
        for again in ["sig=00", "expires=1000"] {
            let twice = format!("{q}&{again}");
            assert!(matches!(
                s.verify("GET", p, Some(&twice), 0),
                Err(SignatureError::Malformed(_))
            ));
        }
    }

    #[test]
    fn keys_rotate_newest_first_signs_any_verifies() {
        let old = signer(&["k-old-0123456789abcdef"]);
        let rotated = signer(&["k-new-0123456789abcdef", "k-old-0123456789abcdef"]);
        let dropped = signer(&["k-new-0123456789abcdef"]);
        let by_old = old.sign(PATH, 1_000);
        let (p, q) = parts(&by_old);
        assert_eq!(rotated.verify("GET", p, q, 0), Ok(1_000));
        assert_eq!(
            dropped.verify("GET", p, q, 0),
            Err(SignatureError::Mismatch)
        );
        let by_new = rotated.sign(PATH, 1_000);
        let (p, q) = parts(&by_new);
        assert_eq!(dropped.verify("GET", p, q, 0), Ok(1_000));
        assert_eq!(old.verify("GET", p, q, 0), Err(SignatureError::Mismatch));
    }

    #[test]
    fn unsigned_and_malformed_urls_are_refused() {
        let s = signer(&["k-new-0123456789abcdef"]);
        let p = "/v1/derived/thumb-256/a.jpg";
        assert_eq!(s.verify("GET", p, None, 0), Err(SignatureError::Missing));
        assert_eq!(
            s.verify("GET", p, Some("expires=5"), 0),
            Err(SignatureError::Missing)
        );
        assert!(matches!(
            s.verify("GET", p, Some("expires=5&sig=zz"), 0),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            s.verify("GET", p, Some("expires=soon&sig=00"), 0),
            Err(SignatureError::Malformed(_))
        ));
        assert!(UrlSigner::new(&[], 30).is_none());
        assert!(!format!("{s:?}").contains("k-new"));
    }
}
