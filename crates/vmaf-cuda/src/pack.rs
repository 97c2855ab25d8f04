//! Copying host pictures into pinned staging memory on several threads.
//!
//! Every frame from host memory is copied once into pinned memory (the only
//! memory the GPU can read asynchronously). One core copies about 10 GB/s:
//! 0.4 ms for the two luma planes of a 1080p frame, 1.6 ms at 4K, which
//! would cap the CUDA backend near 2,500 and 600 frames/s whatever the GPU
//! does. A [`PackPool`] splits the rows of a frame into equal byte ranges
//! and copies them on the calling thread and a few persistent helpers.
//!
//! The helpers are started once, with the session, and stopped when it
//! drops; a frame costs one wake-up and one report per helper. Rows are
//! handed over as raw addresses because the pictures are borrowed only for
//! the duration of [`PackPool::run`], which returns after every helper has
//! reported back: no copy can outlive the borrow.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

/// One rectangle of rows to copy: `rows` rows of `row_bytes` bytes, from
/// `src` (rows `src_pitch` apart) to `dst` (rows back to back).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rows {
    pub src: *const u8,
    pub src_pitch: usize,
    pub dst: *mut u8,
    pub row_bytes: usize,
    pub rows: usize,
}

// SAFETY: a `Rows` is only dereferenced while `PackPool::run` holds the
// borrows it was made from (see the module docs).
unsafe impl Send for Rows {}

impl Rows {
    /// Nothing to copy.
    pub const EMPTY: Rows =
        Rows { src: std::ptr::null(), src_pitch: 0, dst: std::ptr::null_mut(), row_bytes: 0, rows: 0 };

    /// Copies rows `first..first + n`.
    ///
    /// # Safety
    /// The addresses must be valid for the whole rectangle, and no other
    /// thread may write the destination rows.
    unsafe fn copy(&self, first: usize, n: usize) {
        for y in first..first + n {
            std::ptr::copy_nonoverlapping(
                self.src.add(y * self.src_pitch),
                self.dst.add(y * self.row_bytes),
                self.row_bytes,
            );
        }
    }
}

/// A share of a frame's copying: up to six rectangles (three planes of two
/// pictures), each with the row range this thread takes.
#[derive(Clone, Copy, Debug, Default)]
struct Share {
    parts: [Option<(Rows, usize, usize)>; 6],
}

impl Share {
    /// # Safety
    /// As [`Rows::copy`].
    unsafe fn run(&self) {
        for (r, first, n) in self.parts.iter().flatten() {
            r.copy(*first, *n);
        }
    }
}

/// What the caller and the helpers share: one share slot per helper, how
/// many shares are still being copied, and the stop flag. A mutex and two
/// condition variables (futexes on Linux): no allocation per frame, unlike
/// a channel, whose wakers and blocks allocate now and then.
struct Shared {
    state: Mutex<State>,
    work: Condvar,
    done: Condvar,
}

struct State {
    shares: [Option<Share>; MAX_THREADS],
    remaining: usize,
    stop: bool,
}

/// The calling thread plus a few helpers that copy rows in parallel.
pub(crate) struct PackPool {
    shared: Arc<Shared>,
    helpers: Vec<JoinHandle<()>>,
}

/// Most threads a pool copies on (shares live in a fixed array, so a frame
/// allocates nothing).
const MAX_THREADS: usize = 8;

/// Frames smaller than this are copied on the calling thread alone: a
/// hand-off costs a few microseconds, more than copying them.
const PARALLEL_BYTES: usize = 1 << 20;

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panicking copy cannot leave the counters inconsistent for long:
    // see `helper`.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Helper `i`'s loop: take share `i` when one is posted, copy it, report.
fn helper(shared: &Shared, i: usize) {
    loop {
        let share = {
            let mut st = lock(&shared.state);
            loop {
                if st.stop {
                    return;
                }
                if let Some(s) = st.shares[i].take() {
                    break s;
                }
                st = shared.work.wait(st).unwrap_or_else(PoisonError::into_inner);
            }
        };
        // SAFETY: `run` posted the share and waits for `remaining` to reach
        // zero before its borrows end. A panic cannot happen in a plain
        // memory copy of checked ranges.
        unsafe { share.run() };
        let mut st = lock(&shared.state);
        st.remaining -= 1;
        if st.remaining == 0 {
            shared.done.notify_all();
        }
    }
}

impl PackPool {
    /// A pool of `threads` copying threads in all (the caller included).
    /// Helpers that cannot be started are simply not used.
    pub fn new(threads: usize) -> PackPool {
        let shared = Arc::new(Shared {
            state: Mutex::new(State { shares: [None; MAX_THREADS], remaining: 0, stop: false }),
            work: Condvar::new(),
            done: Condvar::new(),
        });
        let mut helpers = Vec::new();
        for i in 0..threads.clamp(1, MAX_THREADS) - 1 {
            let sh = Arc::clone(&shared);
            match std::thread::Builder::new().name("vmaf-cuda-pack".into()).spawn(move || helper(&sh, i)) {
                Ok(h) => helpers.push(h),
                Err(_) => break,
            }
        }
        PackPool { shared, helpers }
    }

    /// Threads that copy, the caller included.
    pub fn threads(&self) -> usize {
        self.helpers.len() + 1
    }

    /// Copies every rectangle of `parts`, split across the threads by
    /// bytes.
    ///
    /// # Safety
    /// Each rectangle's source and destination must be valid for its whole
    /// extent for the duration of the call, and destinations must not
    /// overlap each other or any source.
    pub unsafe fn run(&self, parts: &[Rows]) {
        let total: usize = parts.iter().map(|r| r.row_bytes * r.rows).sum();
        let n = if total < PARALLEL_BYTES { 1 } else { self.threads() };
        let shares = split(parts, n);
        if n > 1 {
            let mut st = lock(&self.shared.state);
            for (slot, share) in st.shares.iter_mut().zip(&shares[1..n]) {
                *slot = Some(*share);
            }
            st.remaining = n - 1;
            self.shared.work.notify_all();
        }
        shares[0].run();
        if n > 1 {
            // Every helper must finish before the borrows end.
            let mut st = lock(&self.shared.state);
            while st.remaining > 0 {
                st = self.shared.done.wait(st).unwrap_or_else(PoisonError::into_inner);
            }
        }
    }
}

impl Drop for PackPool {
    fn drop(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.work.notify_all();
        for h in self.helpers.drain(..) {
            let _ = h.join();
        }
    }
}

/// Splits the rows of `parts` into `n` (at most [`MAX_THREADS`]) shares of
/// about equal bytes, in order (share 0 first); at most 6 parts.
fn split(parts: &[Rows], n: usize) -> [Share; MAX_THREADS] {
    let n = n.clamp(1, MAX_THREADS);
    let total: usize = parts.iter().map(|r| r.row_bytes * r.rows).sum();
    let mut shares = [Share::default(); MAX_THREADS];
    let per = total.div_ceil(n).max(1);
    let (mut s, mut filled) = (0usize, 0usize);
    for (pi, r) in parts.iter().enumerate().take(6) {
        let mut y = 0;
        while y < r.rows {
            let last = s + 1 == n;
            let room = per.saturating_sub(filled);
            // The last share takes whatever is left.
            let take = if last { r.rows - y } else { room.div_ceil(r.row_bytes.max(1)).clamp(1, r.rows - y) };
            shares[s].parts[pi] = Some((*r, y, take));
            y += take;
            filled += take * r.row_bytes;
            if filled >= per && s + 1 < n {
                s += 1;
                filled = 0;
            }
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(src: &[u8], src_pitch: usize, dst: &mut [u8], row_bytes: usize, rows: usize) -> Rows {
        Rows { src: src.as_ptr(), src_pitch, dst: dst.as_mut_ptr(), row_bytes, rows }
    }

    #[test]
    fn every_row_is_copied_once_whatever_the_split() {
        for threads in 1..=5 {
            let pool = PackPool::new(threads);
            for (w, h, pitch) in [(1, 1, 1), (7, 3, 9), (1920, 1080, 2048), (5, 700_000, 5), (4096, 300, 4100)] {
                let src: Vec<u8> = (0..pitch * h).map(|i| (i * 31 % 251) as u8).collect();
                let src2: Vec<u8> = (0..w * h).map(|i| (i * 17 % 253) as u8).collect();
                let mut dst = vec![0u8; w * h * 2];
                let (a, b) = dst.split_at_mut(w * h);
                let parts = [rect(&src, pitch, a, w, h), rect(&src2, w, b, w, h)];
                // SAFETY: every rectangle lies inside its vectors, which
                // outlive the call; the two destinations are disjoint.
                unsafe { pool.run(&parts) };
                for y in 0..h {
                    assert_eq!(&dst[y * w..(y + 1) * w], &src[y * pitch..y * pitch + w], "{w}x{h} row {y}");
                }
                assert_eq!(&dst[w * h..], &src2[..], "{w}x{h}, {threads} threads");
            }
        }
    }

    #[test]
    fn shares_cover_each_rectangle_exactly() {
        let (src, mut dst) = (vec![0u8; 100 * 37], vec![0u8; 100 * 37 + 10 * 3]);
        let (a, b) = dst.split_at_mut(100 * 37);
        let parts = [rect(&src, 100, a, 100, 37), rect(&src, 10, b, 10, 3)];
        for n in 1..=8 {
            let shares = split(&parts, n);
            for (pi, r) in parts.iter().enumerate() {
                let mut covered = vec![0; r.rows];
                for s in &shares {
                    if let Some((_, first, k)) = s.parts[pi] {
                        covered[first..first + k].iter_mut().for_each(|c| *c += 1);
                    }
                }
                assert!(covered.iter().all(|&c| c == 1), "{n} shares, part {pi}: {covered:?}");
            }
        }
    }
}
