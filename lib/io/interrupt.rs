//! Ctrl-C and SIGTERM: the first asks the running stage to stop and flush what it measured
//! (exit 130); a second Ctrl-C exits at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

static SIGNALS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    if SIGNALS.fetch_add(1, Ordering::SeqCst) >= 1 {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
}

/// Installs the handlers for SIGINT and SIGTERM. Call once, early in `main`.
pub fn install() {
    // SAFETY: the handler only touches an atomic and calls _exit, both async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}

/// True once a stop was requested.
pub fn requested() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}

/// Asks for a stop as a signal would (used by tests and by time limits).
pub fn request() {
    SIGNALS.fetch_add(1, Ordering::SeqCst);
}

/// Resolves once a stop was requested (polls; a signal handler cannot wake a future safely).
pub async fn wait() {
    while !requested() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
