//! `derivd sign-url PATH [--expires-in SECS] [--base URL]`: prints a signed URL for
//! `GET /v1/derived/…` with the newest key of `http.url_signing_key`.

use anyhow::{bail, Context};

use crate::config::Config;
use crate::http::signing::{self, UrlSigner};

#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// Path and query as they will be sent, percent-encoded, e.g.
    /// /v1/derived/thumb-256/uploads/a%20b.jpg?bucket=photos
    pub path: String,
    /// Seconds from now until the URL expires.
    #[arg(long, default_value_t = 3600)]
    pub expires_in: u64,
    /// Origin to print in front of the path (e.g. https://img.example.com).
    #[arg(long, default_value = "")]
    pub base: String,
}

pub fn run(cfg: &Config, args: &SignArgs) -> anyhow::Result<i32> {
    let signer = UrlSigner::new(&cfg.http.url_signing_key, cfg.http.url_signature_skew_secs)
        .context("http.url_signing_key is not set: nothing to sign with")?;
    if !args.path.starts_with("/v1/derived/") {
        bail!(
            "only GET /v1/derived/... takes signed URLs; {:?} is not one",
            args.path
        );
    }
    let expires = signing::now().saturating_add(args.expires_in);
    println!(
        "{}{}",
        args.base.trim_end_matches('/'),
        signer.sign(&args.path, expires)
    );
    Ok(0)
}
