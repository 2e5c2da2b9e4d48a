//! loadgen's user interface on stderr, the one place in `lib/` that draws on the terminal: the
//! display has to move while the run runs, from the writer thread that sees every record.
//! Everything else the library has to say comes back to the caller (see [`crate::loadgen::Report`]).
//!
//! - `--ui simple`: an indicatif bar (done/total, req/s, errors, ETA; for duration runs,
//!   elapsed/total seconds), shown only when stderr is a terminal.
//! - `--ui dashboard`: a full-screen live view ([`dashboard`]); where it cannot be shown (stderr
//!   not a terminal, `NO_COLOR`, `TERM=dumb`) it falls back to the simple bar.
//! - `--ui none`: nothing.

pub mod dashboard;

use std::io::IsTerminal;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::loadgen::options::{Options, Ui};
use crate::loadgen::record::metrics::Computed;

/// The simple bar.
struct Bar {
    bar: ProgressBar,
    duration: Option<f64>,
    start: Instant,
    last_draw: Instant,
    done: u64,
    errors: u64,
}

impl Bar {
    fn new(total: Option<u64>, duration: Option<f64>) -> Bar {
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
        b.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
        b.set_prefix("loadgen");
        let now = Instant::now();
        Bar {
            bar: b,
            duration,
            start: now,
            last_draw: now,
            done: 0,
            errors: 0,
        }
    }

    fn set_phase(&mut self, name: &str, total: Option<u64>) {
        self.done = 0;
        self.errors = 0;
        self.start = Instant::now();
        self.bar.set_prefix(format!("loadgen {name}"));
        self.bar.reset();
        if self.duration.is_none() {
            if let Some(t) = total {
                self.bar.set_length(t);
            }
        }
    }

    fn record(&mut self, error: bool) {
        self.done += 1;
        self.errors += u64::from(error);
        let now = Instant::now();
        if now - self.last_draw < Duration::from_millis(100) {
            return;
        }
        self.last_draw = now;
        let el = (now - self.start).as_secs_f64();
        match self.duration {
            Some(_) => self.bar.set_position(el as u64),
            None => self.bar.set_position(self.done),
        }
        self.bar.set_message(format!(
            "{:.0} req/s, {} errors",
            self.done as f64 / el.max(1e-9),
            self.errors
        ));
    }
}

enum View {
    Hidden,
    Bar(Bar),
    Dashboard(Box<dashboard::Dashboard>),
}

pub struct Progress {
    view: View,
}

/// Whether this terminal can take the full-screen view: stderr is one, colour is not refused
/// (`NO_COLOR`), and it is not a dumb terminal.
pub fn dashboard_possible() -> bool {
    let term = std::env::var("TERM").unwrap_or_default();
    std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && !term.is_empty()
        && term != "dumb"
}

impl Progress {
    /// The display `opts.ui` asks for, for `total` requests (or `opts.benchmark_duration`
    /// seconds); `sent` counts the requests sent so far (for the dashboard's in-flight count).
    pub fn new(opts: &Options, total: Option<u64>, sent: Arc<AtomicU64>) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let duration = opts.benchmark_duration;
        let view = match opts.ui {
            Ui::None => View::Hidden,
            Ui::Dashboard if dashboard_possible() => match dashboard::Dashboard::start(opts, total, sent) {
                Ok(d) => View::Dashboard(Box::new(d)),
                Err(_) => View::Bar(Bar::new(total, duration)),
            },
            Ui::Simple | Ui::Dashboard if terminal => View::Bar(Bar::new(total, duration)),
            _ => View::Hidden,
        };
        Progress { view }
    }

    pub fn set_phase(&mut self, name: &str, total: Option<u64>) {
        match &mut self.view {
            View::Hidden => {}
            View::Bar(b) => b.set_phase(name, total),
            View::Dashboard(d) => d.set_phase(name, total),
        }
    }

    /// One finished request; `lag` is how late it left against its schedule.
    pub fn record(&mut self, rec: &Computed, lag: Duration) {
        match &mut self.view {
            View::Hidden => {}
            View::Bar(b) => b.record(rec.error.is_some()),
            View::Dashboard(d) => d.record(rec, lag),
        }
    }

    /// Nothing finished lately: the dashboard still redraws (and reads the keyboard).
    pub fn tick(&mut self) {
        if let View::Dashboard(d) = &mut self.view {
            d.tick();
        }
    }

    pub fn finish(&mut self) {
        match std::mem::replace(&mut self.view, View::Hidden) {
            View::Hidden => {}
            View::Bar(b) => b.bar.finish_and_clear(),
            View::Dashboard(mut d) => d.finish(),
        }
    }
}
