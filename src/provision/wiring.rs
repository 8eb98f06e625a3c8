//! A bucket's event notifications: the model, S3's overlap rule, and `setup`'s merge. Pure.
//!
//! Why a merge: S3's API replaces a bucket's notification configuration whole, so writing
//! only derivd's entries would delete everyone else's. `setup` reads the configuration,
//! keeps every entry it did not create (its own carry an id starting with `derivd-`),
//! replaces or adds its own, and leaves out — reporting a ✗ — any of its entries that would
//! overlap someone else's, which S3 would refuse anyway ("Configurations overlap").

/// Ids of the entries derivd creates start with this.
pub const OWN_ID_PREFIX: &str = "derivd-";
pub const LOST_OBJECT_EVENT: &str = "s3:ReducedRedundancyLostObject";
pub const CREATED_EVENTS: &str = "s3:ObjectCreated:*";
pub const REMOVED_EVENTS: &str = "s3:ObjectRemoved:*";

/// Where an entry sends its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Topic(String),
    Queue(String),
    Lambda(String),
}

impl Destination {
    pub fn arn(&self) -> &str {
        match self {
            Destination::Topic(a) | Destination::Queue(a) | Destination::Lambda(a) => a,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Destination::Topic(_) => "topic",
            Destination::Queue(_) => "queue",
            Destination::Lambda(_) => "function",
        }
    }
}

/// One notification entry. `prefix` / `suffix` are `""` when the entry has no such rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: Option<String>,
    pub destination: Destination,
    pub events: Vec<String>,
    pub prefix: String,
    pub suffix: String,
}

/// A bucket's whole notification configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notifications {
    pub entries: Vec<Entry>,
    /// EventBridge delivery is on (an entry without fields; kept as found).
    pub event_bridge: bool,
}

/// `s3:` is optional on the wire (`ObjectCreated:Put`).
fn normalized(event: &str) -> String {
    if event.starts_with("s3:") {
        event.to_owned()
    } else {
        format!("s3:{event}")
    }
}

/// Does `a` (maybe a wildcard such as `s3:ObjectCreated:*`) include every event `b` names?
fn event_covers(a: &str, b: &str) -> bool {
    let (a, b) = (normalized(a), normalized(b));
    a == b || a.strip_suffix('*').is_some_and(|stem| b.starts_with(stem))
}

fn events_overlap(a: &str, b: &str) -> bool {
    event_covers(a, b) || event_covers(b, a)
}

impl Entry {
    pub fn is_own(&self) -> bool {
        self.id
            .as_deref()
            .is_some_and(|id| id.starts_with(OWN_ID_PREFIX))
    }

    pub fn id_or_none(&self) -> &str {
        self.id.as_deref().unwrap_or("(no id)")
    }

    /// `s3:ReducedRedundancyLostObject under derived/ → topic arn:…`.
    pub fn describe(&self) -> String {
        let mut out = self.events.join(",");
        match (self.prefix.as_str(), self.suffix.as_str()) {
            ("", "") => out.push_str(" for every key"),
            (p, "") => out.push_str(&format!(" under {p}")),
            ("", s) => out.push_str(&format!(" for keys ending {s}")),
            (p, s) => out.push_str(&format!(" under {p} ending {s}")),
        }
        let d = &self.destination;
        out.push_str(&format!(" → {} {}", d.kind(), d.arn()));
        out
    }

    /// Delivers `event` for every key under `prefix`.
    pub fn delivers(&self, event: &str, prefix: &str) -> bool {
        self.events.iter().any(|e| event_covers(e, event))
            && prefix.starts_with(&self.prefix)
            && self.suffix.is_empty()
    }

    /// S3's rule: two entries overlap when they share an event type and their key filters
    /// can match one key (each prefix a prefix of the other, and each suffix a suffix).
    pub fn overlaps(&self, other: &Entry) -> bool {
        let events = self
            .events
            .iter()
            .any(|a| other.events.iter().any(|b| events_overlap(a, b)));
        let prefixes =
            self.prefix.starts_with(&other.prefix) || other.prefix.starts_with(&self.prefix);
        let suffixes = self.suffix.ends_with(&other.suffix) || other.suffix.ends_with(&self.suffix);
        events && prefixes && suffixes
    }

    /// Sends everything `other` would, to the same place.
    pub fn covers(&self, other: &Entry) -> bool {
        self.destination == other.destination
            && other.suffix.is_empty()
            && other.events.iter().all(|e| self.delivers(e, &other.prefix))
    }

    /// The same entry, events in any order.
    fn same(&self, other: &Entry) -> bool {
        let mut a: Vec<String> = self.events.iter().map(|e| normalized(e)).collect();
        let mut b: Vec<String> = other.events.iter().map(|e| normalized(e)).collect();
        a.sort();
        b.sort();
        self.id == other.id
            && self.destination == other.destination
            && self.prefix == other.prefix
            && self.suffix == other.suffix
            && a == b
    }
}

fn own_id(stem: &str, prefix: &str) -> String {
    match prefix {
        "" => format!("{OWN_ID_PREFIX}{stem}"),
        p => format!("{OWN_ID_PREFIX}{stem}:{p}"),
    }
}

/// Losses of derived objects under `prefix` → the loss topic.
pub fn loss_entry(topic_arn: &str, prefix: &str) -> Entry {
    Entry {
        id: Some(own_id("lost-objects", prefix)),
        destination: Destination::Topic(topic_arn.to_owned()),
        events: vec![LOST_OBJECT_EVENT.to_owned()],
        prefix: prefix.to_owned(),
        suffix: String::new(),
    }
}

/// Uploads and removals under `prefix` → the job queue.
pub fn job_events_entry(queue_arn: &str, prefix: &str) -> Entry {
    Entry {
        id: Some(own_id("job-events", prefix)),
        destination: Destination::Queue(queue_arn.to_owned()),
        events: vec![CREATED_EVENTS.to_owned(), REMOVED_EVENTS.to_owned()],
        prefix: prefix.to_owned(),
        suffix: String::new(),
    }
}

/// What became of one wanted entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// derivd's identical entry is there.
    AlreadyThere,
    /// Someone else's entry (this id) already sends these events there.
    CoveredBy(String),
    Added,
    /// These entries of derivd's (older versions, overlapping) were replaced by it.
    Replaced(Vec<Entry>),
    /// Left out: it overlaps this entry, which is not derivd's.
    Conflict(Entry),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    /// The configuration to write (the current one, if nothing changed).
    pub result: Notifications,
    pub outcomes: Vec<(Entry, Outcome)>,
    /// Entries of others, kept as they were.
    pub kept: Vec<Entry>,
    pub changed: bool,
}

/// Merges `wanted` (derivd's entries) into `current`. Never touches an entry whose id does
/// not start with [`OWN_ID_PREFIX`].
pub fn merge(current: &Notifications, wanted: &[Entry]) -> Merge {
    let mut result = current.clone();
    let mut outcomes = Vec::new();
    let mut changed = false;
    for w in wanted {
        let outcome = if result.entries.iter().any(|e| e.same(w)) {
            Outcome::AlreadyThere
        } else if let Some(f) = result.entries.iter().find(|e| !e.is_own() && e.covers(w)) {
            Outcome::CoveredBy(f.id_or_none().to_owned())
        } else if let Some(f) = result.entries.iter().find(|e| !e.is_own() && e.overlaps(w)) {
            Outcome::Conflict(f.clone())
        } else {
            let replaced_here = |e: &Entry| e.is_own() && (e.id == w.id || e.overlaps(w));
            let (old, rest): (Vec<Entry>, Vec<Entry>) =
                result.entries.drain(..).partition(replaced_here);
            result.entries = rest;
            result.entries.push(w.clone());
            changed = true;
            if old.is_empty() {
                Outcome::Added
            } else {
                Outcome::Replaced(old)
            }
        };
        outcomes.push((w.clone(), outcome));
    }
    let kept = current
        .entries
        .iter()
        .filter(|e| !e.is_own())
        .cloned()
        .collect();
    Merge {
        result,
        outcomes,
        kept,
        changed,
    }
}
