//! The process's memory limit as its control group sets it (a container's or a systemd
//! unit's), so a memory budget the kernel would never grant is refused at start-up instead
//! of ending in the OOM killer mid-job.

use std::path::Path;

/// Memory derivd needs besides its decode budget: the runtime, HTTP and AWS clients,
/// encoded outputs in flight, the allocator's slack. Measured idle RSS is ~20 MiB; the rest
/// is margin.
pub const OVERHEAD_BYTES: u64 = 128 << 20;

#[derive(Debug, thiserror::Error)]
#[error(
    "config key worker.memory_budget_bytes: {budget} bytes plus {overhead} bytes of process \
     overhead exceed this process's memory limit of {limit} bytes (cgroup {source_file}); \
     lower the budget or raise the container's memory limit"
)]
pub struct BudgetTooLarge {
    pub budget: u64,
    pub overhead: u64,
    pub limit: u64,
    pub source_file: String,
}

/// The memory limit in bytes, if the process has one (cgroup v2, else v1).
pub fn memory_limit() -> Option<(u64, String)> {
    let candidates = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ];
    candidates.iter().find_map(|f| {
        let text = std::fs::read_to_string(Path::new(f)).ok()?;
        Some((parse_limit(&text)?, f.to_string()))
    })
}

/// `max` (v2) and the v1 "unlimited" sentinel (a page-rounded i64::MAX) mean no limit.
fn parse_limit(text: &str) -> Option<u64> {
    let value: u64 = text.trim().parse().ok()?;
    (value < (1 << 62)).then_some(value)
}

/// Refuses a budget that, with the process overhead, does not fit the memory limit.
pub fn check_memory_budget(budget: u64) -> Result<(), BudgetTooLarge> {
    match memory_limit() {
        Some((limit, file)) => check_against(budget, limit, file),
        None => Ok(()),
    }
}

fn check_against(budget: u64, limit: u64, source_file: String) -> Result<(), BudgetTooLarge> {
    if budget.saturating_add(OVERHEAD_BYTES) > limit {
        return Err(BudgetTooLarge {
            budget,
            overhead: OVERHEAD_BYTES,
            limit,
            source_file,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_parsed_and_enforced() {
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("9223372036854771712\n"), None);
        assert_eq!(parse_limit("1073741824\n"), Some(1 << 30));
        assert!(check_against(512 << 20, 1 << 30, "f".into()).is_ok());
        let err = check_against(1 << 30, 1 << 30, "memory.max".into()).unwrap_err();
        assert!(
            err.to_string().contains("worker.memory_budget_bytes"),
            "{err}"
        );
    }
}
