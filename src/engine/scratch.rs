//! Reuse of the big buffers each job has: the decode, the resizer's intermediates and the
//! larger resized images.
//!
//! A 12 MP decode is 36 MB. Freshly allocated, that is ~9,000 page faults and 36 MB of
//! kernel zeroing per job (glibc serves blocks over 32 MB straight from `mmap` and unmaps
//! them on free). Kept mapped and handed to the next job, the buffer costs nothing —
//! libjpeg-turbo overwrites every byte. With the resizer's buffer kept too (`resize.rs`),
//! W2 went from 12.2 to 15.3 images/s on one core. [`take_sized`] goes one step further
//! and skips zero-filling a buffer its user overwrites anyway (2 % of a W2 job).
//!
//! Bounded: at most [`PER_CORE`] buffers per core are kept, each between [`KEEP_MIN`] and
//! [`KEEP_MAX`] bytes, together at most `cores × KEEP_MAX`; anything else is freed as
//! usual. Idle memory is therefore at most `cores × 64 MB`, on top of the workers' decode
//! budget.

use std::sync::Mutex;

/// Largest buffer worth keeping.
pub const KEEP_MAX: usize = 64 << 20;
/// Smaller buffers are left to the allocator (it reuses them well).
pub const KEEP_MIN: usize = 1 << 20;
/// Buffers kept per core: a job on the YCbCr path has about eight large ones.
const PER_CORE: usize = 8;

/// Kept buffers, largest first.
struct Pool(Mutex<Vec<Vec<u8>>>);

static FREE: Pool = Pool(Mutex::new(Vec::new()));

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// An empty buffer with room for at least `len` bytes: a kept one if one is big enough.
pub fn take(len: usize) -> Vec<u8> {
    let mut v = FREE.take(len);
    v.clear();
    v
}

/// A buffer of exactly `len` bytes whose contents are unspecified (bytes of an earlier
/// image, or zeros), for a caller that overwrites every byte before reading any.
pub fn take_sized(len: usize) -> Vec<u8> {
    let mut v = FREE.take(len);
    if v.len() >= len {
        v.truncate(len);
    } else {
        v.resize(len, 0);
    }
    v
}

/// Hands a buffer back for the next job (or frees it).
pub fn give(v: Vec<u8>) {
    FREE.give(v, cores())
}

impl Pool {
    fn take(&self, len: usize) -> Vec<u8> {
        if (KEEP_MIN..=KEEP_MAX).contains(&len) {
            let mut free = self.0.lock().unwrap_or_else(|p| p.into_inner());
            // The smallest kept buffer that fits.
            if let Some(i) = free.iter().rposition(|v| v.capacity() >= len) {
                return free.remove(i);
            }
        }
        Vec::with_capacity(len)
    }

    fn give(&self, v: Vec<u8>, cores: usize) {
        if !(KEEP_MIN..=KEEP_MAX).contains(&v.capacity()) {
            return;
        }
        let mut free = self.0.lock().unwrap_or_else(|p| p.into_inner());
        free.push(v);
        // Over the bounds: drop the smallest buffers first (the big ones save the most).
        free.sort_unstable_by_key(|b| std::cmp::Reverse(b.capacity()));
        let mut total = 0;
        let keep = free
            .iter()
            .take(PER_CORE * cores)
            .take_while(|b| {
                total += b.capacity();
                total <= cores * KEEP_MAX
            })
            .count();
        free.truncate(keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_within_bounds() {
        let pool = Pool(Mutex::new(Vec::new()));
        let v = pool.take(5 << 20);
        assert!(v.capacity() >= 5 << 20 && v.is_empty());
        let p = v.as_ptr();
        pool.give(v, 1);
        let again = pool.take(5 << 20);
        assert_eq!(again.as_ptr(), p, "the kept buffer is reused");
        // Too small or too large: not kept.
        pool.give(Vec::with_capacity(KEEP_MAX + 1), 1);
        pool.give(Vec::with_capacity(1024), 1);
        assert!(pool.0.lock().unwrap().is_empty());
        // One core: PER_CORE buffers at most, together at most KEEP_MAX; the largest stay.
        for mb in [5, 6, 7, 30, 2, 2, 2, 2, 2, 2] {
            pool.give(Vec::with_capacity(mb << 20), 1);
        }
        let kept: Vec<usize> = pool
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|b| b.capacity() >> 20)
            .collect();
        assert_eq!(kept, vec![30, 7, 6, 5, 2, 2, 2, 2]);
        // The smallest that fits is handed out.
        assert_eq!(pool.take(6 << 20).capacity() >> 20, 6);
        // Over KEEP_MAX together: only what fits under it stays, largest first.
        pool.give(Vec::with_capacity(40 << 20), 1);
        let total: usize = pool.0.lock().unwrap().iter().map(|b| b.capacity()).sum();
        assert_eq!(total >> 20, 40);
    }
}
