//! Reuse of the big buffers each job has: the full-size decode and the largest resizes.
//!
//! A 12 MP decode is 36 MB. Freshly allocated, that is ~9,000 page faults and 36 MB of
//! kernel zeroing per job (glibc serves blocks over 32 MB straight from `mmap` and unmaps
//! them on free); measured on W2 that was ~10 % of the job. Kept mapped and handed to the
//! next job, the buffer costs nothing — libjpeg-turbo overwrites every byte.
//!
//! Bounded: at most two buffers per core are kept, each at most [`KEEP_MAX`] bytes (a
//! 21 MP RGB decode), together at most `cores × KEEP_MAX`; anything else is freed as usual.
//! Idle memory is therefore at most `cores × 64 MB`, on top of the workers' decode budget.

use std::sync::Mutex;

/// Largest buffer worth keeping.
pub const KEEP_MAX: usize = 64 << 20;
/// Smaller buffers are left to the allocator (it reuses them well).
const KEEP_MIN: usize = 4 << 20;

static FREE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// An empty buffer with room for at least `len` bytes: a kept one if one is big enough.
pub fn take(len: usize) -> Vec<u8> {
    if (KEEP_MIN..=KEEP_MAX).contains(&len) {
        let mut free = FREE.lock().unwrap_or_else(|p| p.into_inner());
        let best = free
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= len)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        if let Some(i) = best {
            return free.swap_remove(i);
        }
    }
    Vec::with_capacity(len)
}

/// Hands a buffer back for the next job (or frees it).
pub fn give(mut v: Vec<u8>) {
    if !(KEEP_MIN..=KEEP_MAX).contains(&v.capacity()) {
        return;
    }
    v.clear();
    let mut free = FREE.lock().unwrap_or_else(|p| p.into_inner());
    free.push(v);
    // Over the bounds: drop the smallest buffers first (the big ones save the most).
    free.sort_unstable_by_key(|b| std::cmp::Reverse(b.capacity()));
    let mut total = 0;
    let keep = free
        .iter()
        .take(2 * cores())
        .take_while(|b| {
            total += b.capacity();
            total <= cores() * KEEP_MAX
        })
        .count();
    free.truncate(keep);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_and_small_or_huge_ones_do_not() {
        let v = take(5 << 20);
        assert!(v.capacity() >= 5 << 20 && v.is_empty());
        let p = v.as_ptr();
        give(v);
        let again = take(5 << 20);
        assert_eq!(again.as_ptr(), p, "the kept buffer is reused");
        give(Vec::with_capacity(KEEP_MAX + 1));
        give(Vec::with_capacity(1024));
        assert!(FREE.lock().unwrap().iter().all(|b| (KEEP_MIN..=KEEP_MAX).contains(&b.capacity())));
    }
}
