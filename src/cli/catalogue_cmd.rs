//! `derivd catalogue [--json]`.

use crate::catalogue::Catalogue;
use crate::config::Config;
use crate::derive::BucketMap;

#[derive(Debug, clap::Args)]
pub struct CatalogueArgs {
    /// Print JSON (the same document as GET /v1/catalogue).
    #[arg(long)]
    pub json: bool,
}

pub fn run(cfg: &Config, catalogue: &Catalogue, args: &CatalogueArgs) -> anyhow::Result<i32> {
    let view = crate::startup::catalogue_view(catalogue, &BucketMap::from_config(cfg));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print!("{}", view.to_text());
    }
    Ok(0)
}
