//! `derivd cost`: does a cheaper, less durable storage class pay for this workload?
//!
//! The 2010 design derivd follows stored derived objects in Reduced Redundancy Storage and
//! regenerated the few it lost, because RRS cost a third less than STANDARD. Prices have
//! moved since — in us-east-1 RRS now costs *more* than STANDARD, while the Infrequent Access
//! classes are cheaper but bill small objects as 128 KB — so the argument has to be redone
//! with today's numbers for each workload. This module does that:
//!
//! * [`sheet`] loads price sheets (TOML, shipped ones compiled in, strict about keys);
//! * [`model`] computes one month per storage class against STANDARD;
//! * [`breakeven`] says how far the workload can move before a class stops paying;
//! * [`estimate`] puts them together for every class the sheet prices;
//! * [`report`] prints a table or JSON; [`cli`] holds the flags and [`run`].
//!
//! The model and its assumptions are documented in `docs/cost.md`.

pub mod breakeven;
pub mod cli;
mod error;
pub mod estimate;
pub mod model;
pub mod report;
pub mod sheet;
pub mod units;

pub use cli::{compute, run, CostArgs};
pub use error::CostError;
pub use estimate::{estimate, Estimate};
pub use model::{ClassEstimate, Workload};
pub use sheet::Sheet;
