//! Ctrl-C and SIGTERM: the first asks the running stage to stop and flush what it measured
//! (exit 130); a second Ctrl-C exits at once. During a setup that measures nothing (loadgen
//! building its dataset, [`install_for_setup`] until [`arm`]), the first signal exits at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

static SIGNALS: AtomicUsize = AtomicUsize::new(0);
/// Set until the measured stage starts: a signal then ends the process at once.
static SETUP: AtomicBool = AtomicBool::new(false);
/// The line printed when a signal ends the setup.
static SETUP_MESSAGE: OnceLock<&'static str> = OnceLock::new();

extern "C" fn on_signal(_: libc::c_int) {
    if SETUP.load(Ordering::SeqCst) {
        if let Some(m) = SETUP_MESSAGE.get() {
            // SAFETY: write(2) is async-signal-safe; the message is a static string.
            unsafe { libc::write(2, m.as_ptr().cast(), m.len()) };
        }
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
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

/// [`install`], with the first signal ending the process at once (exit 130, `message` on stderr)
/// until [`arm`]: a long setup (a large dataset being built) stops on Ctrl-C or SIGTERM
/// instead of ignoring it until the run starts.
pub fn install_for_setup(message: &'static str) {
    let _ = SETUP_MESSAGE.set(message);
    SETUP.store(true, Ordering::SeqCst);
    install();
}

/// The measured stage starts: from now on a signal asks it to stop and flush.
pub fn arm() {
    SETUP.store(false, Ordering::SeqCst);
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
