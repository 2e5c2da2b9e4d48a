//! `--ui simple`: an indicatif bar on stderr (done/total, req/s, errors, ETA; for duration runs,
//! elapsed/total seconds), shown only when stderr is a terminal. `--ui none` shows nothing.
//!
//! This is loadgen's user interface, and the one place in `lib/` that draws on the terminal: the
//! bar has to move while the run runs, from the writer thread that counts the records. Everything
//! else the library has to say comes back to the caller (see [`super::Report`]).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::options::Ui;

pub struct Progress {
    bar: Option<ProgressBar>,
    duration: Option<f64>,
    start: Instant,
    last_draw: Instant,
    done: u64,
    errors: u64,
}

impl Progress {
    /// A bar for `total` requests, or for `duration` seconds.
    pub fn new(ui: Ui, total: Option<u64>, duration: Option<f64>) -> Progress {
        let show = ui == Ui::Simple && std::io::stderr().is_terminal();
        let bar = show.then(|| {
            let (len, template) = match (duration, total) {
                (Some(d), _) => (
                    d.ceil() as u64,
                    "{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} s  {msg}",
                ),
                (None, Some(t)) => (
                    t,
                    "{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} req  {msg}  ETA {eta}",
                ),
                (None, None) => (0, "{prefix} [{elapsed_precise}] {pos} req  {msg}"),
            };
            let b = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr_with_hz(4));
            b.set_style(
                ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.set_prefix("loadgen");
            b
        });
        let now = Instant::now();
        Progress {
            bar,
            duration,
            start: now,
            last_draw: now,
            done: 0,
            errors: 0,
        }
    }

    pub fn set_phase(&mut self, name: &str, total: Option<u64>) {
        self.done = 0;
        self.errors = 0;
        self.start = Instant::now();
        if let Some(b) = &self.bar {
            b.set_prefix(format!("loadgen {name}"));
            b.reset();
            if self.duration.is_none() {
                if let Some(t) = total {
                    b.set_length(t);
                }
            }
        }
    }

    pub fn record(&mut self, error: bool) {
        self.done += 1;
        self.errors += u64::from(error);
        let Some(b) = &self.bar else { return };
        let now = Instant::now();
        if now - self.last_draw < Duration::from_millis(100) {
            return;
        }
        self.last_draw = now;
        let el = (now - self.start).as_secs_f64();
        match self.duration {
            Some(_) => b.set_position(el as u64),
            None => b.set_position(self.done),
        }
        b.set_message(format!(
            "{:.0} req/s, {} errors",
            self.done as f64 / el.max(1e-9),
            self.errors
        ));
    }

    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
