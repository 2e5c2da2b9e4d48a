//! Sub-millisecond deadlines for async code.
//!
//! tokio's timer wheel has 1 ms granularity, which skews a 5 ms inter-token gap by up to 20%.
//! `sleep_until` sleeps coarsely on tokio until shortly before the deadline, then hands the last
//! stretch to one high-resolution timer thread (futex wait with 1 ns timer slack, then a short spin)
//! that wakes the task at the deadline. Deadlines are absolute (`start + i * gap`), never accumulated.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How close to the deadline tokio's own timer may take us before the precise thread takes over.
const COARSE_MARGIN: Duration = Duration::from_micros(1500);
/// The precise thread spins (yielding) for the final stretch rather than trusting the kernel.
const SPIN_MARGIN: Duration = Duration::from_micros(60);

struct Entry {
    at: Instant,
    seq: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

struct Shared {
    heap: Mutex<(BinaryHeap<Reverse<Entry>>, u64)>,
    cv: Condvar,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<&'static Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let s: &'static Shared =
            Box::leak(Box::new(Shared { heap: Mutex::new((BinaryHeap::new(), 0)), cv: Condvar::new() }));
        std::thread::Builder::new()
            .name("hr-timer".into())
            .spawn(move || run(s))
            .expect("spawn the high-resolution timer thread");
        s
    })
}

fn run(s: &'static Shared) {
    // SAFETY: prctl with PR_SET_TIMERSLACK only changes this thread's timer slack.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
    let mut guard = s.heap.lock().unwrap();
    loop {
        let now = Instant::now();
        while guard.0.peek().is_some_and(|Reverse(e)| e.at <= now) {
            let Reverse(e) = guard.0.pop().unwrap();
            let _ = e.wake.send(());
        }
        match guard.0.peek().map(|Reverse(e)| e.at) {
            None => guard = s.cv.wait(guard).unwrap(),
            Some(at) => {
                let left = at.saturating_duration_since(now);
                if left > SPIN_MARGIN {
                    guard = s.cv.wait_timeout(guard, left - SPIN_MARGIN).unwrap().0;
                } else {
                    drop(guard);
                    std::thread::yield_now();
                    guard = s.heap.lock().unwrap();
                }
            }
        }
    }
}

/// Waits until `deadline` with sub-millisecond precision.
pub async fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline <= now {
        return;
    }
    if deadline - now > COARSE_MARGIN {
        tokio::time::sleep_until((deadline - COARSE_MARGIN).into()).await;
        if Instant::now() >= deadline {
            return;
        }
    }
    let (tx, rx) = oneshot::channel();
    let s = shared();
    {
        let mut g = s.heap.lock().unwrap();
        let earliest = g.0.peek().map(|Reverse(e)| e.at);
        g.1 += 1;
        let seq = g.1;
        g.0.push(Reverse(Entry { at: deadline, seq, wake: tx }));
        if earliest.is_none_or(|e| deadline < e) {
            s.cv.notify_one();
        }
    }
    let _ = rx.await;
}

/// Waits for `d` with sub-millisecond precision.
pub async fn sleep(d: Duration) {
    sleep_until(Instant::now() + d).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_wakes_early_and_keeps_order() {
        let start = Instant::now();
        let mut handles = Vec::new();
        for i in 0..20u64 {
            let at = start + Duration::from_micros(300 * i + 200);
            handles.push(tokio::spawn(async move {
                sleep_until(at).await;
                (at, Instant::now())
            }));
        }
        for h in handles {
            let (at, woke) = h.await.unwrap();
            assert!(woke >= at, "woke {:?} before its deadline", at - woke);
        }
    }
}
