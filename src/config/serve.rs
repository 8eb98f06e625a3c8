//! `[serve]`: which roles one `derivd serve` process runs, so a fleet can scale job workers
//! (to zero, on queue depth) separately from the always-on service (HTTP, SNS, repairs).

use serde::{Deserialize, Deserializer};

use super::{invalid, Config, ConfigError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Consumes the job queue (`queue.jobs`).
    Jobs,
    /// Consumes the repair queue (`queue.repair`).
    Repair,
    /// Serves the HTTP API on `http.listen`: catalogue, jobs, ensure-on-read, `/v1/sns`.
    /// (Every process with `http.listen` set serves `/healthz`, `/readyz` and `/metrics`.)
    Http,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Roles this process runs. Unset: every role whose queue or listener is configured.
    pub roles: Option<Vec<Role>>,
}

impl Config {
    /// The roles `serve` runs: those configured, or by default every one that has what it
    /// needs (a repair queue, a listen address).
    pub fn roles(&self) -> Vec<Role> {
        match &self.serve.roles {
            Some(roles) => roles.clone(),
            None => {
                let mut all = vec![Role::Jobs];
                if self.queue.repair.is_some() {
                    all.push(Role::Repair);
                }
                if self.http.listen.is_some() {
                    all.push(Role::Http);
                }
                all
            }
        }
    }

    pub(super) fn validate_roles(&self) -> Result<(), ConfigError> {
        let Some(roles) = &self.serve.roles else {
            return Ok(());
        };
        if roles.is_empty() {
            return Err(invalid(
                "serve.roles",
                "must name at least one of jobs, repair, http",
            ));
        }
        for (i, r) in roles.iter().enumerate() {
            if roles[..i].contains(r) {
                return Err(invalid("serve.roles", format!("{r:?} is listed twice")));
            }
        }
        if roles.contains(&Role::Repair) && self.queue.repair.is_none() {
            return Err(invalid(
                "serve.roles",
                "\"repair\" needs queue.repair to name the repair queue",
            ));
        }
        if roles.contains(&Role::Http) && self.http.listen.is_none() {
            return Err(invalid("serve.roles", "\"http\" needs http.listen"));
        }
        Ok(())
    }
}

/// An optional string where the older file format wrote `""` for "off": `""` still reads
/// as `None` (deprecated; omit the key instead).
pub(super) fn empty_is_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<String>::deserialize(d)?;
    Ok(v.filter(|s| !s.is_empty()))
}
