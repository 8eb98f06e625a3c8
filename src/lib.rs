//! derivd makes and keeps *derived objects* (thumbnails, web renditions) in S3.
//!
//! Clients put a source object in a bucket and queue a job naming it and the transforms
//! they want; workers make every derived object from one decode of the source and store
//! each under a deterministic key. Objects that Reduced Redundancy Storage loses are
//! regenerated from their source when S3 reports the loss.
//!
//! # Module map
//!
//! How a job flows: a [`consume`]r receives messages from a [`queue`] and routes each:
//! job requests run through the [`derive`]r, losses go to [`repair`], removals to
//! [`cleanup`]. Every path that makes a derived object — jobs, [`repair`], [`ensure`]-on-read
//! — goes through [`derive::Deriver`], and every path that judges one (those and
//! [`audit`]) asks [`derive::identity`]. Only [`startup`] sees all the parts.
//!
//! | module | concept |
//! |---|---|
//! | **leaves** | |
//! | [`config`] | the one typed configuration (TOML file + `DERIVD_*` variables) |
//! | [`catalogue`] | named transforms loaded from `transforms/*.toml`; the public catalogue view |
//! | [`media`] | media types, detected from bytes |
//! | [`keys`] | deterministic derived keys and their exact inverse |
//! | [`engine`] | the synchronous transform engine: one decode → every rendition |
//! | [`job`] | messages on the queues: job requests, S3 events, SNS envelopes |
//! | [`manifest`] | per-source record of derived objects (a versioned format), merged with conditional writes |
//! | [`metrics`] | every Prometheus metric, defined in one place |
//! | [`cost`] | the storage-class cost model behind `derivd cost` |
//! | [`cgroup`] | the process's memory limit, checked against the decode budget |
//! | **I/O seams** (a trait, two real implementations, one contract suite each) | |
//! | [`storage`] | object store: S3 and a local directory |
//! | [`queue`] | queue: SQS and an embedded SQLite queue |
//! | [`notice`] | completion notices: SNS or a JSONL file |
//! | [`aws`] | AWS SDK set-up and error classification |
//! | [`backends`] | opening the store, queues and notifier a configuration names |
//! | [`extract`] | one video frame (ffmpeg) or PDF page (poppler), run as sandboxed processes |
//! | **the core** | |
//! | [`derive`] | the one producer of derived objects: fetch → probe → owed → render → write → record |
//! | **paths that use it** | |
//! | [`consume`] | one receive/drain loop, one lease, one ack policy, message routing |
//! | [`repair`] | regenerating lost derived objects |
//! | [`cleanup`] | deleting a removed source's derived objects |
//! | [`ensure`] | ensure-on-read: `GET /v1/derived/...` serves only current objects |
//! | [`audit`] | `derivd audit`: checks the manifests' derived objects; queues the repairs |
//! | **front ends** | |
//! | [`http`] | the HTTP API |
//! | [`sns`] | `POST /v1/sns`: signature-checked SNS messages over HTTPS |
//! | [`provision`] | `derivd setup` / `derivd check`: creates and verifies the AWS wiring |
//! | [`startup`] | builds every part from the configuration and runs `serve` |
//! | [`cli`] | the command-line front end |

pub mod audit;
pub mod aws;
pub mod backends;
pub mod catalogue;
pub mod cgroup;
pub mod cleanup;
pub mod cli;
pub mod config;
pub mod consume;
pub mod cost;
pub mod derive;
pub mod engine;
pub mod ensure;
pub mod extract;
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
pub mod startup;
pub mod storage;
