//! `derivd catalogue [--json]`.

use crate::catalogue::view::CatalogueView;
use crate::catalogue::Catalogue;
use crate::config::Config;
use crate::keys::KeyLayout;

#[derive(Debug, clap::Args)]
pub struct CatalogueArgs {
    /// Print JSON (the same document as GET /v1/catalogue).
    #[arg(long)]
    pub json: bool,
}

pub fn run(cfg: &Config, catalogue: &Catalogue, args: &CatalogueArgs) -> anyhow::Result<i32> {
    let prefix = cfg
        .bucket_mappings()
        .first()
        .map_or("derived/".to_string(), |b| b.prefix.clone());
    let view = CatalogueView::new(catalogue, &KeyLayout::new(prefix));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print!("{}", view.to_text());
    }
    Ok(0)
}
