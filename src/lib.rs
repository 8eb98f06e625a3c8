//! derivd makes and keeps *derived objects* (thumbnails, web renditions) in S3.
//!
//! Clients put a source object in a bucket and queue a job naming it and the transforms
//! they want; workers make every derived object from one decode of the source and store
//! each under a deterministic key. Objects that Reduced Redundancy Storage loses are
//! regenerated from their source when S3 reports the loss.
//!
//! # Module map
//!
//! | module | concept |
//! |---|---|
//! | [`config`] | the one typed configuration (TOML file + `DERIVD_*` variables) |
//! | [`catalogue`] | named transforms loaded from `transforms/*.toml`; the public catalogue view |
//! | [`media`] | media types, detected from bytes |
//! | [`keys`] | deterministic derived keys and their exact inverse |
//! | [`engine`] | the synchronous transform engine: one decode → every rendition |
//! | [`ensure`] | ensure-on-read: `GET /v1/derived/...` regenerates missing objects |
//! | [`job`] | messages on the queues: job requests, S3 events, SNS envelopes |
//! | [`storage`] | object-store seam: S3 and a local directory |
//! | [`queue`] | queue seam: SQS and an embedded SQLite queue |
//! | [`manifest`] | per-source record of derived objects, merged with conditional writes |
//! | [`worker`] | the pool that runs jobs and decides each message's fate |
//! | [`repair`] | regenerating lost derived objects |
//! | [`sns`] | `POST /v1/sns`: signature-checked SNS messages over HTTPS |
//! | [`audit`] | `derivd audit`: checks the manifests' derived objects; queues the repairs |
//! | [`provision`] | `derivd setup` / `derivd check`: creates and verifies the AWS wiring |
//! | [`notice`] | completion notices (SNS or a JSONL file) |
//! | [`http`] | the HTTP API |
//! | [`metrics`] | every Prometheus metric, defined in one place |
//! | [`app`] | wiring backends from config; `serve` |
//! | [`aws`] | AWS SDK set-up and error classification |
//! | [`cost`] | the storage-class cost model behind `derivd cost` |
//! | [`cli`] | the command-line front end |

pub mod app;
pub mod audit;
pub mod aws;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod cost;
pub mod engine;
pub mod ensure;
pub mod http;
pub mod job;
pub mod keys;
pub mod manifest;
pub mod media;
pub mod metrics;
pub mod notice;
pub mod provision;
pub mod queue;
pub mod repair;
pub mod sns;
pub mod storage;
pub mod worker;
