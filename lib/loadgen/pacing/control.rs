//! The run's stop and cancel signals, shared by the phase driver, the dispatchers, the request
//! tasks and the writer thread.

use std::sync::Mutex;

use tokio::sync::watch;

use crate::contract::run_info::EndReason;

/// Stop/cancel signals, and why the run ended early or failed.
pub struct Control {
    /// No new requests.
    stop: watch::Sender<bool>,
    /// Abandon in-flight requests (they become cancelled records).
    cancel: watch::Sender<bool>,
    /// A reason to fail the run (unreachable server, output write error).
    fatal: Mutex<Option<anyhow::Error>>,
    /// A stop constraint that ended the run early, and what set it off.
    ended: Mutex<Option<(EndReason, String)>>,
}

/// The run was told to stop while a loop waited (a tick, a ramp).
pub struct Stopped;

impl Default for Control {
    fn default() -> Control {
        Control {
            stop: watch::channel(false).0,
            cancel: watch::channel(false).0,
            fatal: Mutex::new(None),
            ended: Mutex::new(None),
        }
    }
}

impl Control {
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
    pub fn cancel(&self) {
        self.stop();
        self.cancel.send_replace(true);
    }
    pub fn stopped(&self) -> bool {
        *self.stop.borrow()
    }
    pub fn cancelled(&self) -> bool {
        *self.cancel.borrow()
    }
    /// Resolves (`wait_for(|s| *s)`) when the run stops dispatching.
    pub fn on_stop(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }
    /// Resolves (`wait_for(|c| *c)`) when in-flight requests are abandoned.
    pub fn on_cancel(&self) -> watch::Receiver<bool> {
        self.cancel.subscribe()
    }
    /// A stop constraint was crossed: no new requests; a dead server's in-flight ones are abandoned.
    pub fn end_early(&self, why: EndReason, detail: String) {
        let mut e = self.ended.lock().unwrap();
        if e.is_none() {
            *e = Some((why, detail));
            drop(e);
            if why == EndReason::ServerUnreachable {
                self.cancel();
            } else {
                self.stop();
            }
        }
    }
    /// Fails the run (the first reason wins) and abandons what is in flight.
    pub fn fail(&self, e: anyhow::Error) {
        let mut f = self.fatal.lock().unwrap();
        if f.is_none() {
            *f = Some(e);
        }
        drop(f);
        self.cancel();
    }
    /// Why the run failed, once (the run's ending takes it).
    pub fn take_fatal(&self) -> Option<anyhow::Error> {
        self.fatal.lock().unwrap().take()
    }
    /// The stop constraint that ended the run early, once.
    pub fn take_ended(&self) -> Option<(EndReason, String)> {
        self.ended.lock().unwrap().take()
    }
}
