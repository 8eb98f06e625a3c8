//! The engine's stages, run on the blocking pool so the async reactor never decodes.
//!
//! A render is never abandoned half-way: libjpeg-turbo cannot be interrupted, so a job
//! whose time runs out mid-decode keeps its slot and its memory reservation until the
//! blocking work really ends (the engine checks the deadline between stages and stops at
//! the next one). A message can therefore never have two decodes running in one process.

use std::sync::Arc;
use std::time::Instant;

use super::budget::MemoryBudget;
use super::source::Source;
use super::DeriveError;
use crate::catalogue::Transform;
use crate::engine::{Deadline, Engine, RenderOptions, Rendered, SourceInfo};
use crate::metrics::Metrics;

/// Reads the source's header: format, upright size, decode memory.
pub async fn probe(engine: &Engine, source: &Source) -> Result<SourceInfo, DeriveError> {
    let (engine, bytes) = (engine.clone(), source.bytes()?.clone());
    let info = tokio::task::spawn_blocking(move || engine.probe(&bytes))
        .await
        .map_err(|e| DeriveError::Panic(e.to_string()))??;
    Ok(info)
}

/// Makes every rendition (and what `opts` ask for) from one decode, after reserving the
/// decode memory and the source's own bytes from the budget.
pub async fn render(
    (engine, budget, metrics): (&Engine, &MemoryBudget, &Metrics),
    source: &Source,
    info: &SourceInfo,
    transforms: Vec<Arc<Transform>>,
    deadline: Instant,
    opts: RenderOptions,
) -> Result<Rendered, DeriveError> {
    let wanted = info.estimated_decode_bytes + source.resident_bytes();
    // The reservation moves into the blocking task: it lives exactly as long as the work.
    let reservation = budget.reserve(wanted, metrics).await;
    let (engine, bytes) = (engine.clone(), source.bytes()?.clone());
    let started = Instant::now();
    let task = tokio::task::spawn_blocking(move || {
        let _reservation = reservation;
        engine.render_all(&bytes, &transforms, Deadline::at(deadline), &opts)
    });
    let out = task
        .await
        .map_err(|e| DeriveError::Panic(e.to_string()))??;
    metrics
        .stage_duration
        .with_label_values(&["render"])
        .observe(started.elapsed().as_secs_f64());
    Ok(out)
}
