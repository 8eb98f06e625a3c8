//! PDF pages through poppler's `pdfinfo` and `pdftoppm`, run in the [`Sandbox`].
//!
//! The page is rasterised once per distinct page rule, at exactly the resolution that
//! covers the largest output (`scale` × the page's size in points), never at a fixed DPI:
//! a 256-px thumbnail of an A0 page rasterises about 256 px wide, not 10,000. pdftoppm
//! applies `/Rotate` itself, renders the CropBox (`-cropbox`), and paints on white paper,
//! so transparent pages come out flattened on white.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::ffmpeg::os;
use super::sandbox::{locate, Sandbox};
use super::{ppm, ExtractError, Extractor, Facts, PdfFacts, Request, Rule, Still};
use crate::media::MediaType;

#[derive(Debug, Clone)]
pub struct Poppler {
    pub pdfinfo: PathBuf,
    pub pdftoppm: PathBuf,
    pub sandbox: Sandbox,
    pub max_pages: u32,
    pub max_pixels: u64,
}

impl Poppler {
    /// `pdfinfo` for `page` (its size, rotation and boxes) and the document.
    fn info(&self, file: &Path, page: u32, deadline: Instant) -> Result<PdfFacts, ExtractError> {
        let p = page.to_string();
        let mut args = os(&["-f", &p, "-l", &p, "-box"]);
        args.push(file.as_os_str().to_owned());
        let out = match self.sandbox.run(&self.pdfinfo, &args, deadline) {
            Ok(o) => o,
            Err(f) => {
                return Err(match f.into_error("pdfinfo") {
                    ExtractError::Corrupt(m) if m.contains("password") => ExtractError::Encrypted,
                    e => e,
                })
            }
        };
        parse_info(&String::from_utf8_lossy(&out.stdout), page)
    }
}

/// The lines of `pdfinfo -f P -l P -box` derivd needs.
pub fn parse_info(text: &str, page: u32) -> Result<PdfFacts, ExtractError> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
    };
    let pages: u32 = field("Pages:")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ExtractError::Corrupt("pdfinfo found no page count".into()))?;
    let prefix = format!("Page {page:>4} ");
    let page_field = |name: &str| field(&format!("{prefix}{name}"));
    let crop: Vec<f64> = page_field("CropBox:")
        .map(|v| {
            v.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let (w, h) = match crop.as_slice() {
        [x0, y0, x1, y1] => ((x1 - x0).abs(), (y1 - y0).abs()),
        _ if pages == 0 => (0.0, 0.0),
        _ => return Err(ExtractError::Corrupt(format!("page {page} has no CropBox"))),
    };
    let rotate = page_field("rot:")
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(0, |r| r.rem_euclid(360) as u32);
    Ok(PdfFacts {
        pages,
        page,
        page_width_pt: w,
        page_height_pt: h,
        rotate,
    })
}

impl Extractor for Poppler {
    fn name(&self) -> &'static str {
        "poppler"
    }

    fn handles(&self, media: MediaType) -> bool {
        media == MediaType::Pdf
    }

    fn check(&self) -> Result<(), ExtractError> {
        for tool in [&self.pdfinfo, &self.pdftoppm] {
            if locate(tool).is_none() {
                return Err(ExtractError::ToolMissing {
                    tool: tool.display().to_string(),
                    message: "not found: install Debian's `poppler-utils` package \
                              (scripts/setup-system.sh runtime) or set media.pdf = false"
                        .into(),
                });
            }
        }
        Ok(())
    }

    /// Facts of page 1; [`Extractor::extract`] re-reads the page a rule asks for.
    fn probe(&self, file: &Path, _m: MediaType, deadline: Instant) -> Result<Facts, ExtractError> {
        let f = self.info(file, 1, deadline)?;
        if f.pages == 0 {
            return Err(ExtractError::Corrupt("the PDF has no pages".into()));
        }
        if f.pages > self.max_pages {
            return Err(ExtractError::LimitExceeded(format!(
                "{} pages, over limits.max_pdf_pages = {}",
                f.pages, self.max_pages
            )));
        }
        Ok(Facts::Pdf(f))
    }

    fn extract(&self, file: &Path, req: &Request<'_>) -> Result<Still, ExtractError> {
        let (Facts::Pdf(doc), Rule::Page(page)) = (req.facts, req.rule) else {
            return Err(ExtractError::Internal(
                "poppler given a non-page rule".into(),
            ));
        };
        if page > doc.pages {
            return Err(ExtractError::Corrupt(format!(
                "page {page} asked for; the PDF has {} pages",
                doc.pages
            )));
        }
        let f = if page == doc.page {
            doc.clone()
        } else {
            self.info(file, page, req.deadline)?
        };
        let dpi = self.dpi(&f, req.scale)?;
        let p = page.to_string();
        let mut args: Vec<OsString> = os(&["-f", &p, "-l", &p, "-singlefile", "-cropbox"]);
        args.extend(os(&["-r", &format!("{dpi:.4}"), "-q"]));
        args.push(file.as_os_str().to_owned());
        let out = self
            .sandbox
            .run(&self.pdftoppm, &args, req.deadline)
            .map_err(|f| f.into_error("pdftoppm"))?;
        let (width, height, rgb) = ppm::parse(out.stdout)?;
        Ok(Still {
            width,
            height,
            rgb,
            at_seconds: None,
            page: Some(page),
        })
    }
}

impl Poppler {
    /// The DPI that gives `scale` × the page's size in points, within the pixel limit.
    fn dpi(&self, f: &PdfFacts, scale: f64) -> Result<f64, ExtractError> {
        let (w, h) = f.upright_pt();
        if w < 1.0 || h < 1.0 {
            return Err(ExtractError::Corrupt(format!("page {} is empty", f.page)));
        }
        let mut dpi = 72.0 * scale;
        let pixels = (w * dpi / 72.0) * (h * dpi / 72.0);
        if pixels > self.max_pixels as f64 {
            dpi *= (self.max_pixels as f64 / pixels).sqrt();
        }
        // At least one pixel on the short side.
        Ok(dpi.max(72.0 / w.min(h)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdfinfo_lines_give_pages_box_and_rotation() {
        let text = "Pages:           14\nEncrypted:       no\n\
                    Page    2 size:  595 x 842 pts (A4)\nPage    2 rot:   90\n\
                    Page    2 CropBox:      0.00     0.00   595.00   842.00\n";
        let f = parse_info(text, 2).unwrap();
        assert_eq!((f.pages, f.page, f.rotate), (14, 2, 90));
        assert_eq!(f.upright_pt(), (842.0, 595.0));
        assert!(parse_info("Title: x\n", 1).is_err());
    }
}
