//! `--ui dashboard`: a full-screen view on stderr (ratatui over crossterm), redrawn five times a
//! second from the writer thread: progress, target vs achieved rate, requests in flight, live
//! TTFT / ITL / request-latency p50/p90/p99, output tokens/s, errors by type, and the client's
//! health (dispatch lag, CPU, the client-bound verdict). The terminal is in raw mode, so Ctrl-C
//! arrives as a key: `q` or Ctrl-C asks for the stop a first SIGINT asks for (drain, flush,
//! exit 130); a second one quits at once, as a second SIGINT does.

use std::collections::{BTreeMap, VecDeque};
use std::io::Stderr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Gauge, Paragraph, Row, Table};
use ratatui::{Frame, Terminal};

use crate::contract::records::Value;
use crate::loadgen::options::Options;
use crate::loadgen::record::metrics::Computed;
use crate::loadgen::record::run_info::{cpu_seconds, CPU_SHARE_LIMIT, LAG_P99_LIMIT};

const REDRAW: Duration = Duration::from_millis(200);
/// Output tokens/s is measured over this trailing window, so it follows the load as it changes.
const RATE_WINDOW: Duration = Duration::from_secs(5);

/// What the run is, for the header and the load panel.
struct Shape {
    title: String,
    total: Option<u64>,
    duration: Option<f64>,
    target_rate: Option<f64>,
    concurrency: Option<u64>,
    open_loop: bool,
}

/// What the records of the current phase said so far (µs histograms: 3 significant digits).
struct Live {
    phase: String,
    start: Instant,
    done: u64,
    errors: u64,
    ttft: Histogram<u64>,
    itl: Histogram<u64>,
    latency: Histogram<u64>,
    lag: Histogram<u64>,
    late: u64,
    tokens: VecDeque<(Instant, f64)>,
    errors_by: BTreeMap<String, u64>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant digits is valid")
}

impl Live {
    fn new(phase: &str) -> Live {
        Live {
            phase: phase.to_string(),
            start: Instant::now(),
            done: 0,
            errors: 0,
            ttft: histogram(),
            itl: histogram(),
            latency: histogram(),
            lag: histogram(),
            late: 0,
            tokens: VecDeque::new(),
            errors_by: BTreeMap::new(),
        }
    }

    /// Output tokens per second over the trailing window.
    fn token_rate(&mut self, now: Instant) -> f64 {
        while self.tokens.front().is_some_and(|(t, _)| now - *t > RATE_WINDOW) {
            self.tokens.pop_front();
        }
        let span = (now - self.start).min(RATE_WINDOW).as_secs_f64().max(0.2);
        self.tokens.iter().map(|(_, n)| n).sum::<f64>() / span
    }
}

pub struct Dashboard {
    term: Terminal<CrosstermBackend<Stderr>>,
    shape: Shape,
    live: Live,
    /// Requests sent so far (all phases), counted by the request tasks.
    sent: Arc<AtomicU64>,
    /// Records seen so far (all phases): sent − finished = in flight.
    finished: u64,
    started: Instant,
    cpu0: f64,
    last_draw: Instant,
    stopping: bool,
}

impl Dashboard {
    /// Takes over the terminal (raw mode, alternate screen); fails when it cannot.
    pub fn start(opts: &Options, total: Option<u64>, sent: Arc<AtomicU64>) -> std::io::Result<Dashboard> {
        terminal::enable_raw_mode()?;
        let mut err = std::io::stderr();
        if let Err(e) = execute!(err, terminal::EnterAlternateScreen, cursor::Hide) {
            let _ = terminal::disable_raw_mode();
            return Err(e);
        }
        let term = Terminal::new(CrosstermBackend::new(std::io::stderr()))?;
        let now = Instant::now();
        Ok(Dashboard {
            term,
            shape: Shape {
                title: format!(" loadgen · {} · {} ", opts.model, opts.request_url()),
                total,
                duration: opts.benchmark_duration,
                target_rate: opts.request_rate,
                concurrency: opts.concurrency,
                open_loop: opts.request_rate.is_some(),
            },
            live: Live::new("starting"),
            sent,
            finished: 0,
            started: now,
            cpu0: cpu_seconds(),
            last_draw: now - REDRAW,
            stopping: false,
        })
    }

    pub fn set_phase(&mut self, name: &str, total: Option<u64>) {
        self.live = Live::new(name);
        if name == "profiling" {
            self.shape.total = total;
        }
        self.tick();
    }

    pub fn record(&mut self, rec: &Computed, lag: Duration) {
        self.finished += 1;
        let l = &mut self.live;
        l.done += 1;
        let lag_us = lag.as_micros() as u64;
        let _ = l.lag.record(lag_us);
        l.late += u64::from(lag > Duration::from_millis(1));
        if let Some(e) = &rec.error {
            l.errors += 1;
            let label = match e.code {
                Some(c) => format!("{} ({c})", e.kind),
                None => e.kind.to_string(),
            };
            *l.errors_by.entry(label).or_insert(0) += 1;
        } else {
            for (tag, v, _) in &rec.metrics {
                let Value::Scalar(x) = v else { continue };
                let us = (x * 1000.0).max(0.0) as u64;
                let _ = match *tag {
                    "time_to_first_token" => l.ttft.record(us),
                    "inter_token_latency" => l.itl.record(us),
                    "request_latency" => l.latency.record(us),
                    "output_token_count" => {
                        l.tokens.push_back((Instant::now(), *x));
                        Ok(())
                    }
                    _ => Ok(()),
                };
            }
        }
        self.tick();
    }

    /// Reads the keyboard and redraws when a redraw is due.
    pub fn tick(&mut self) {
        self.keys();
        let now = Instant::now();
        if now - self.last_draw < REDRAW {
            return;
        }
        self.last_draw = now;
        self.draw(now);
    }

    /// `q` or Ctrl-C: first a stop (as SIGINT), then quit at once (as a second SIGINT).
    fn keys(&mut self) {
        while event::poll(Duration::ZERO).unwrap_or(false) {
            let Ok(Event::Key(k)) = event::read() else {
                continue;
            };
            let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
            if k.kind != KeyEventKind::Press || !(ctrl_c || k.code == KeyCode::Char('q')) {
                continue;
            }
            if self.stopping || crate::io::interrupt::requested() {
                self.restore();
                std::process::exit(130);
            }
            self.stopping = true;
            crate::io::interrupt::request();
            self.last_draw = Instant::now() - REDRAW;
        }
    }

    fn draw(&mut self, now: Instant) {
        let view = View::of(self, now);
        let _ = self.term.draw(|f| view.render(f));
    }

    fn restore(&mut self) {
        let _ = terminal::disable_raw_mode();
        let _ = execute!(std::io::stderr(), cursor::Show, terminal::LeaveAlternateScreen);
    }

    /// Draws the last frame's numbers once more, then gives the terminal back.
    pub fn finish(&mut self) {
        self.draw(Instant::now());
        self.restore();
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        // A panic on the writer thread must not leave the terminal raw.
        self.restore();
    }
}

fn ms(h: &Histogram<u64>, q: f64) -> String {
    if h.is_empty() {
        "-".into()
    } else {
        format!("{:.2}", h.value_at_quantile(q) as f64 / 1000.0)
    }
}

/// One frame's content, computed before drawing (the closure borrows nothing mutable).
struct View {
    title: String,
    phase: String,
    ratio: f64,
    progress: String,
    load: Vec<Line<'static>>,
    latency: Vec<[String; 4]>,
    errors: Vec<Line<'static>>,
    health: Vec<Line<'static>>,
    footer: String,
}

impl View {
    fn of(d: &mut Dashboard, now: Instant) -> View {
        let (s, elapsed) = (&d.shape, (now - d.live.start).as_secs_f64());
        let tokens = d.live.token_rate(now);
        let l = &d.live;
        let (ratio, progress) = match (s.duration, s.total) {
            (Some(dur), _) if l.phase == "profiling" => (
                (elapsed / dur).min(1.0),
                format!("{elapsed:.1} / {dur:.0} s, {} requests", l.done),
            ),
            (_, Some(t)) if l.phase == "profiling" && t > 0 => (
                l.done as f64 / t as f64,
                format!("{} / {t} requests, {elapsed:.1} s", l.done),
            ),
            _ => (0.0, format!("{} requests, {elapsed:.1} s", l.done)),
        };
        let in_flight = d.sent.load(Ordering::Relaxed).saturating_sub(d.finished);
        let target = target_line(s.target_rate, s.concurrency);
        let load = vec![
            Line::from(format!("target     {target}")),
            Line::from(format!(
                "achieved   {:.1} req/s",
                l.done as f64 / elapsed.max(1e-3)
            )),
            Line::from(format!("in flight  {in_flight}")),
            Line::from(format!(
                "tokens/s   {tokens:.0} output (last {} s)",
                RATE_WINDOW.as_secs()
            )),
            Line::from(format!(
                "finished   {} ok, {} errors",
                l.done - l.errors,
                l.errors
            )),
        ];
        let row = |name: &str, h: &Histogram<u64>| [name.to_string(), ms(h, 0.5), ms(h, 0.9), ms(h, 0.99)];
        let latency = vec![
            row("TTFT", &l.ttft),
            row("ITL", &l.itl),
            row("request latency", &l.latency),
        ];
        let errors = if l.errors_by.is_empty() {
            vec![Line::from("none")]
        } else {
            l.errors_by
                .iter()
                .map(|(k, n)| Line::from(format!("{n:>7}  {k}")))
                .collect()
        };
        let wall = (now - d.started).as_secs_f64();
        let cpu = (cpu_seconds() - d.cpu0) / wall.max(1e-3);
        let lag99 = if l.lag.is_empty() {
            0
        } else {
            l.lag.value_at_quantile(0.99)
        };
        let verdict = if s.open_loop && Duration::from_micros(lag99) > LAG_P99_LIMIT {
            Line::styled(
                format!(
                    "CLIENT-BOUND: dispatch lag p99 {:.2} ms > {} ms",
                    lag99 as f64 / 1e3,
                    LAG_P99_LIMIT.as_millis()
                ),
                Style::new().fg(Color::Red),
            )
        } else if wall > 0.5 && cpu > CPU_SHARE_LIMIT {
            Line::styled(
                format!("CLIENT-BOUND? the client uses {:.0}% of a core", cpu * 100.0),
                Style::new().fg(Color::Red),
            )
        } else {
            Line::styled("ok: the client keeps up", Style::new().fg(Color::Green))
        };
        let health = vec![
            Line::from(format!(
                "dispatch lag  p50 {} ms, p99 {} ms",
                ms(&l.lag, 0.5),
                ms(&l.lag, 0.99)
            )),
            Line::from(format!("late (>1 ms)  {}", l.late)),
            Line::from(format!("client CPU    {:.0}% of a core", cpu * 100.0)),
            verdict,
        ];
        let footer = if d.stopping {
            "stopping: no new requests, draining those in flight (q or Ctrl-C again: quit at once)"
                .to_string()
        } else {
            "q or Ctrl-C: stop (in-flight requests drain, records are kept, exit 130)".to_string()
        };
        View {
            title: s.title.clone(),
            phase: l.phase.clone(),
            ratio: ratio.clamp(0.0, 1.0),
            progress,
            load,
            latency,
            errors,
            health,
            footer,
        }
    }

    fn render(&self, f: &mut Frame) {
        let errors = self.errors.len().max(4) as u16 + 2;
        let [top, mid, low, _, foot] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Length(7),
            Constraint::Length(errors),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(f.area());
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let gauge = Gauge::default()
            .block(Block::bordered().title(Line::styled(self.title.clone(), bold)))
            .gauge_style(Style::new().fg(Color::Cyan))
            .ratio(self.ratio)
            .label(format!("{}: {}", self.phase, self.progress));
        f.render_widget(gauge, top);
        let halves = |r: Rect| {
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas::<2>(r)
        };
        let [load, lat] = halves(mid);
        f.render_widget(
            Paragraph::new(self.load.clone()).block(Block::bordered().title(" load ")),
            load,
        );
        let rows = self.latency.iter().map(|r| Row::new(r.clone()));
        let widths = [
            Constraint::Length(16),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(10),
        ];
        let table = Table::new(rows, widths)
            .header(Row::new(["", "p50", "p90", "p99"]).style(bold))
            .block(Block::bordered().title(" latency (ms) "));
        f.render_widget(table, lat);
        let [errors, health] = halves(low);
        f.render_widget(
            Paragraph::new(self.errors.clone()).block(Block::bordered().title(" errors by type ")),
            errors,
        );
        f.render_widget(
            Paragraph::new(self.health.clone()).block(Block::bordered().title(" client health ")),
            health,
        );
        f.render_widget(Paragraph::new(self.footer.clone()), foot);
    }
}

/// The load the run aims at. A closed loop's concurrency counts requests in flight, not the
/// worker threads (`--workers`) that send them.
fn target_line(rate: Option<f64>, concurrency: Option<u64>) -> String {
    match (rate, concurrency) {
        (Some(r), Some(c)) => format!("{r:.1} req/s, at most {c} in flight"),
        (Some(r), None) => format!("{r:.1} req/s (open loop)"),
        (None, c) => format!("closed loop, concurrency {}", c.unwrap_or(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_loop_shows_its_concurrency_not_workers() {
        assert_eq!(target_line(None, Some(4)), "closed loop, concurrency 4");
        assert_eq!(target_line(Some(2.0), Some(4)), "2.0 req/s, at most 4 in flight");
    }
}
