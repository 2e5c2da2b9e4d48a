//! Sub-millisecond deadlines for async code, shared by mock-llm's token schedule and loadgen's pacing.
//!
//! tokio's timer wheel has 1 ms granularity, which skews a 5 ms inter-token gap by up to 20%.
//! One timer thread (1 ns timer slack) keeps a heap of `(deadline, waker)` and sleeps on a futex
//! until the earliest deadline, then wakes every task that is due. A future re-checks the clock
//! when polled, so the timer only has to wake it on time, never early. It allocates nothing per
//! wait (the waker is cloned into the heap) and never spins: at 256 streams with a 5 ms ITL a
//! deadline falls every ~20 µs on a 2-core machine, and a spinning timer would eat a core the
//! server or the client needs. Deadlines are absolute (`start + i * gap`), never accumulated.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

struct Entry {
    at: Instant,
    seq: u64,
    waker: Waker,
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

struct State {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    /// The deadline the timer thread is currently sleeping towards (None = idle wait).
    sleeping_until: Option<Instant>,
}

/// The timer thread's heap of deadlines; [`timer_thread`] is the one instance.
pub struct TimerThread {
    state: Mutex<State>,
    cv: Condvar,
}

static REALTIME: AtomicBool = AtomicBool::new(false);

/// Asks for SCHED_FIFO on the timer thread (call before its first use; see `--realtime`).
pub fn set_realtime(on: bool) {
    REALTIME.store(on, Ordering::Relaxed);
}

/// Puts the calling thread in the SCHED_FIFO class at priority 1, so CPU-bound jobs sharing the
/// machine cannot delay it by a scheduler slice (`--realtime` of mock-llm and loadgen). Needs root
/// or CAP_SYS_NICE; a thread that sleeps whenever it has nothing to do does not starve the machine.
pub fn make_thread_realtime() -> std::io::Result<()> {
    let p = libc::sched_param { sched_priority: 1 };
    // SAFETY: pid 0 = the calling thread; `p` is a valid sched_param.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &p) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The process-wide timer thread (it starts on first use).
pub fn timer_thread() -> &'static TimerThread {
    static P: OnceLock<&'static TimerThread> = OnceLock::new();
    P.get_or_init(|| {
        let p: &'static TimerThread = Box::leak(Box::new(TimerThread {
            state: Mutex::new(State {
                heap: BinaryHeap::with_capacity(1024),
                seq: 0,
                sleeping_until: None,
            }),
            cv: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("hr-timer".into())
            .spawn(move || p.run())
            .expect("spawn the timer thread");
        p
    })
}

impl TimerThread {
    /// Wakes `waker` at (never before) `at`.
    pub fn wake_at(&self, at: Instant, waker: Waker) {
        let mut s = self.state.lock().unwrap();
        s.seq += 1;
        let seq = s.seq;
        s.heap.push(Reverse(Entry { at, seq, waker }));
        if s.sleeping_until.is_none_or(|t| at < t) {
            s.sleeping_until = Some(at);
            self.cv.notify_one();
        }
    }

    fn run(&self) {
        // SAFETY: PR_SET_TIMERSLACK only changes this thread's timer slack (1 ns: wake on time).
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        }
        if REALTIME.load(Ordering::Relaxed) {
            let _ = make_thread_realtime(); // run() already warned if this is not permitted
        }
        let mut due: Vec<Waker> = Vec::with_capacity(256);
        let mut s = self.state.lock().unwrap();
        loop {
            let now = Instant::now();
            while s.heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
                due.push(s.heap.pop().unwrap().0.waker);
            }
            if !due.is_empty() {
                s.sleeping_until = Some(now); // wakers registered meanwhile need no notify
                drop(s);
                for w in due.drain(..) {
                    w.wake();
                }
                s = self.state.lock().unwrap();
                continue;
            }
            match s.heap.peek().map(|Reverse(e)| e.at) {
                None => {
                    s.sleeping_until = None;
                    s = self.cv.wait(s).unwrap();
                }
                Some(at) => {
                    s.sleeping_until = Some(at);
                    s = self.cv.wait_timeout(s, at - now).unwrap().0;
                }
            }
        }
    }
}

/// A future that completes at (never before) `at`.
pub struct SleepUntil {
    at: Instant,
    armed: bool,
}

/// Waits until `at` with sub-millisecond precision.
pub fn sleep_until(at: Instant) -> SleepUntil {
    SleepUntil { at, armed: false }
}

impl Future for SleepUntil {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            return Poll::Ready(());
        }
        if !self.armed {
            self.armed = true;
            timer_thread().wake_at(self.at, cx.waker().clone());
        } else {
            // Woken before the deadline (spuriously): ask again.
            timer_thread().wake_at(self.at, cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_wakes_early() {
        let start = Instant::now();
        let mut hs = Vec::new();
        for i in 0..50u64 {
            let at = start + Duration::from_micros(137 * i + 100);
            hs.push(tokio::spawn(async move {
                sleep_until(at).await;
                Instant::now() >= at
            }));
        }
        for h in hs {
            assert!(h.await.unwrap());
        }
    }
}
