//! Memory budget: a job reserves its source's estimated decode size before decoding, so
//! several huge sources arriving together wait for each other instead of exhausting memory.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics::Metrics;

const UNIT: u64 = 1 << 20; // permits are MiB

#[derive(Clone)]
pub struct MemoryBudget {
    permits: Arc<Semaphore>,
    total_units: u32,
}

/// Held for the duration of a decode; releases the reservation when dropped.
pub struct Reservation {
    _permit: OwnedSemaphorePermit,
    bytes: i64,
    metrics: Metrics,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.metrics.memory_reserved.sub(self.bytes);
    }
}

impl MemoryBudget {
    pub fn new(total_bytes: u64) -> Self {
        let units = (total_bytes / UNIT).clamp(1, u32::MAX as u64 >> 4) as u32;
        MemoryBudget {
            permits: Arc::new(Semaphore::new(units as usize)),
            total_units: units,
        }
    }

    /// Waits until `bytes` (capped at the whole budget, so one oversized job can still run
    /// alone) can be reserved.
    pub async fn reserve(&self, bytes: u64, metrics: &Metrics) -> Reservation {
        let units = (bytes.div_ceil(UNIT)).clamp(1, self.total_units as u64) as u32;
        let permit = self
            .permits
            .clone()
            .acquire_many_owned(units)
            .await
            .expect("budget semaphore is never closed");
        let bytes = (units as u64 * UNIT) as i64;
        metrics.memory_reserved.add(bytes);
        Reservation {
            _permit: permit,
            bytes,
            metrics: metrics.clone(),
        }
    }

    pub fn available_bytes(&self) -> u64 {
        self.permits.available_permits() as u64 * UNIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_block_until_released() {
        let m = Metrics::new();
        let b = MemoryBudget::new(100 * UNIT);
        let r1 = b.reserve(80 * UNIT, &m).await;
        assert_eq!(b.available_bytes(), 20 * UNIT);
        let b2 = b.clone();
        let m2 = m.clone();
        let waiter = tokio::spawn(async move { b2.reserve(50 * UNIT, &m2).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "second job must wait for memory");
        drop(r1);
        let r2 = waiter.await.unwrap();
        assert_eq!(b.available_bytes(), 50 * UNIT);
        // Larger than the whole budget: capped, runs alone.
        drop(r2);
        let _big = b.reserve(1000 * UNIT, &m).await;
        assert_eq!(b.available_bytes(), 0);
    }
}
