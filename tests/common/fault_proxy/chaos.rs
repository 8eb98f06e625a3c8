//! Random faults: a fraction of the requests of chosen services answered with 503
//! SlowDown, 500, a reset connection (before or after the upstream handled the request), or
//! held for a while, every decision drawn from a seed.
//!
//! Deterministic from the seed in this sense: the n-th request the chaos considers always
//! gets the same decision for the same seed. Which request is n-th depends on how
//! concurrent clients interleave, so a replay injects the same faults at the same rate and
//! in the same order, not necessarily on the same calls.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Match, Seen};

/// The AWS service a request is for, told from its shape: SQS sends JSON with an
/// `X-Amz-Target: AmazonSQS.*` header, SNS a form body with an `Action`, S3 everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    S3,
    Sqs,
    Sns,
}

impl Service {
    pub fn of(r: &Seen) -> Service {
        let target = r.amz_target.as_deref().unwrap_or_default();
        if target.starts_with("AmazonSQS") {
            Service::Sqs
        } else if r.action.is_some() {
            Service::Sns
        } else {
            Service::S3
        }
    }
}

/// One kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// 503 with the service's throttling code (S3 `SlowDown`, else `ServiceUnavailable`).
    SlowDown,
    /// 500 (S3 `InternalError`, else `InternalFailure`).
    Internal,
    /// TCP reset before the request reaches the upstream: nothing happened.
    Reset,
    /// The upstream handled the request, then the client's connection is reset: the call
    /// took effect but its caller cannot know (a retry repeats it).
    LostAnswer,
    /// Held for a time drawn from [`Chaos::latency`], then forwarded normally.
    Latency,
}

impl FaultKind {
    pub const ALL: [FaultKind; 5] = [
        FaultKind::SlowDown,
        FaultKind::Internal,
        FaultKind::Reset,
        FaultKind::LostAnswer,
        FaultKind::Latency,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::SlowDown => "503_slow_down",
            FaultKind::Internal => "500_internal",
            FaultKind::Reset => "reset",
            FaultKind::LostAnswer => "reset_after_upstream",
            FaultKind::Latency => "latency",
        }
    }
}

/// What to inject: `rate` of the requests of `services` (that also match `only`) get one
/// of `kinds`, chosen uniformly.
#[derive(Debug, Clone)]
pub struct Chaos {
    pub seed: u64,
    /// Fraction of the eligible requests faulted, 0.0..=1.0.
    pub rate: f64,
    pub services: Vec<Service>,
    pub kinds: Vec<FaultKind>,
    /// Range of added latency (uniform).
    pub latency: (Duration, Duration),
    pub only: Match,
}

impl Chaos {
    /// Every kind on S3, SQS and SNS, 50–400 ms of latency.
    pub fn new(seed: u64, rate: f64) -> Chaos {
        Chaos {
            seed,
            rate,
            services: vec![Service::S3, Service::Sqs, Service::Sns],
            kinds: FaultKind::ALL.to_vec(),
            latency: (Duration::from_millis(50), Duration::from_millis(400)),
            only: Match::any(),
        }
    }

    pub fn kinds(mut self, kinds: &[FaultKind]) -> Chaos {
        self.kinds = kinds.to_vec();
        self
    }

    pub fn services(mut self, services: &[Service]) -> Chaos {
        self.services = services.to_vec();
        self
    }

    pub fn applies(&self, r: &Seen) -> bool {
        self.services.contains(&Service::of(r)) && self.only.matches(r)
    }

    /// The decision for the `n`-th eligible request: a fault kind and, for latency, how
    /// long.
    pub fn pick(&self, n: u64) -> Option<(FaultKind, Duration)> {
        let h = splitmix64(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let unit = (h >> 11) as f64 / (1u64 << 53) as f64;
        if unit >= self.rate || self.kinds.is_empty() {
            return None;
        }
        let h2 = splitmix64(h);
        let kind = self.kinds[(h2 % self.kinds.len() as u64) as usize];
        let (lo, hi) = self.latency;
        let span = hi.saturating_sub(lo).as_millis() as u64;
        let extra = if span == 0 { 0 } else { splitmix64(h2) % span };
        Some((kind, lo + Duration::from_millis(extra)))
    }
}

/// SplitMix64: a tiny, well-mixed hash for drawing decisions from a seed.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Injected faults counted by (service, kind).
pub type Tally = BTreeMap<(Service, FaultKind), usize>;

/// Injected faults counted by kind name, for printing.
pub fn by_kind(t: &Tally) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for ((_, kind), n) in t {
        *out.entry(kind.name()).or_default() += n;
    }
    out
}
