//! Signed URLs (issue 14): the same checks of `GET /v1/derived/…` on every backend.

use derivd::http::signing::{now, UrlSigner};

pub const NEW_KEY: &str = "new-key-0123456789abcdef0123456789";
pub const OLD_KEY: &str = "old-key-0123456789abcdef0123456789";
pub const TOKEN: &str = "s3cret-token-0123456789";

/// The config's keys: the new one signs, both verify.
pub fn keys() -> Vec<String> {
    vec![NEW_KEY.into(), OLD_KEY.into()]
}

pub fn signer(keys: &[&str]) -> UrlSigner {
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    UrlSigner::new(&keys, 60).unwrap()
}

/// A client that does not follow redirects (the 302 is what is checked).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `max-age` of a response's Cache-Control.
pub fn max_age(r: &reqwest::Response) -> u64 {
    let cc = r.headers()["cache-control"].to_str().unwrap();
    let age = cc
        .split(',')
        .find_map(|d| d.trim().strip_prefix("max-age="));
    age.unwrap_or_else(|| panic!("{cc}")).parse().unwrap()
}

/// Checks who may read `path` (`/v1/derived/…` with `?bucket=…`) of the service at `base`:
/// the token holder, and the holder of a URL signed with either configured key — unless
/// it is tampered with, expired or signed with another key; a signature is no token for
/// any other route. `ok` is the status a good read answers with (200 or 302). Returns the
/// answer to a good signed read.
pub async fn check_reads(base: &str, path: &str, ok: u16) -> reqwest::Response {
    let c = client();
    let get = |url: String| c.get(format!("{base}{url}")).send();
    let status = |r: reqwest::Response| r.status().as_u16();
    let in_an_hour = now() + 3600;

    assert_eq!(status(get(path.into()).await.unwrap()), 401, "unsigned");
    let with_token = c.get(format!("{base}{path}")).bearer_auth(TOKEN).send();
    assert_eq!(status(with_token.await.unwrap()), ok, "token");

    let signed = signer(&[NEW_KEY]).sign(path, in_an_hour);
    let by_old = signer(&[OLD_KEY]).sign(path, in_an_hour);
    assert_eq!(
        status(get(by_old).await.unwrap()),
        ok,
        "rotated: the old key still verifies"
    );
    let wrong = signer(&["another-key-0123456789abcdef012345"]).sign(path, in_an_hour);
    assert_eq!(status(get(wrong).await.unwrap()), 403, "wrong key");
    let expired = signer(&[NEW_KEY]).sign(path, now() - 120);
    let r = get(expired).await.unwrap();
    assert_eq!(r.status(), 403, "expired");
    assert!(r.text().await.unwrap().contains("expired"));
    let tampered_path = signed.replacen("/v1/derived/thumb-256/", "/v1/derived/web-1024/", 1);
    assert_eq!(
        status(get(tampered_path).await.unwrap()),
        403,
        "tampered path"
    );
    let tampered_query = signed.replacen("bucket=", "bucket=x", 1);
    assert_eq!(
        status(get(tampered_query).await.unwrap()),
        403,
        "tampered query"
    );
    let later = signed.replacen("expires=", "expires=9", 1);
    assert_eq!(status(get(later).await.unwrap()), 403, "tampered expiry");

    // A signature is no token for other routes: writes still need the token.
    let query = signed.split_once('?').unwrap().1;
    let post = c
        .post(format!("{base}/v1/jobs?{query}"))
        .header("content-type", "application/json")
        .body(r#"{"source": "a.jpg"}"#);
    assert_eq!(
        status(post.send().await.unwrap()),
        401,
        "jobs with a signature"
    );
    let good = get(signed).await.unwrap();
    assert_eq!(good.status().as_u16(), ok, "signed");
    assert!(
        max_age(&good) <= 3600,
        "a signed read caches past its expiry"
    );
    good
}
