//! AIPerf's fixed schedule for a timestamped `--input-file`: which rows are kept
//! (`--fixed-schedule-start-offset`/`-end-offset`, inclusive, in trace milliseconds), where the
//! schedule's zero is (the earliest kept timestamp with auto offset, AIPerf's default; else the
//! start offset, else 0), and each row's send time = its timestamp − zero, in trace order.

use std::path::Path;

use anyhow::bail;

use crate::contract::seconds::{show, Seconds, MAX_SECONDS};
use crate::loadgen::dataset::prompts::Prompt;
use crate::loadgen::options::Replay;

/// A dataset's rows on their schedule; `trace` = whether the run replays it.
pub struct Scheduled {
    pub prompts: Vec<Prompt>,
    pub trace: bool,
    /// A schedule long enough to say how long the run will take.
    pub warning: Option<String>,
}

/// Applies the replay options to rows whose `timestamp_ms` is the trace's own (absolute) time,
/// or None on every row (a file without a schedule).
pub fn schedule(mut prompts: Vec<Prompt>, replay: &Replay, path: &Path) -> anyhow::Result<Scheduled> {
    let stamped = prompts.iter().any(|p| p.timestamp_ms.is_some());
    if !stamped {
        if replay.required {
            bail!(
                "--fixed-schedule: {}:1: the trace has no `timestamp` (ms) on its lines; add them or drop --fixed-schedule",
                path.display()
            );
        }
        return Ok(Scheduled {
            prompts,
            trace: false,
            warning: None,
        });
    }
    if replay.disabled {
        for p in &mut prompts {
            p.timestamp_ms = None;
        }
        return Ok(Scheduled {
            prompts,
            trace: false,
            warning: None,
        });
    }
    let total = prompts.len();
    prompts.retain(|p| within(replay, p.timestamp_ms.unwrap_or(0.0)));
    if prompts.is_empty() {
        bail!("{}", nothing_within(replay, total, path));
    }
    let zero = zero(replay, prompts.iter().filter_map(|p| p.timestamp_ms));
    for p in &mut prompts {
        p.timestamp_ms = p.timestamp_ms.map(|t| t - zero);
    }
    // A stable sort: rows stamped alike keep their file order.
    prompts.sort_by(|a, b| {
        a.timestamp_ms
            .unwrap_or(0.0)
            .total_cmp(&b.timestamp_ms.unwrap_or(0.0))
    });
    let last = prompts.last().and_then(|p| p.timestamp_ms).unwrap_or(0.0);
    let warning = check_span(last, path)?;
    Ok(Scheduled {
        prompts,
        trace: true,
        warning,
    })
}

/// A schedule that ends beyond this many seconds gets a warning saying how long the run takes.
const WARN_SPAN_SECONDS: f64 = 3600.0;

/// A replayed schedule whose last send is `last_ms` after its zero: refused beyond
/// [`MAX_SECONDS`] (a trace of epoch timestamps without auto offset, a typo), a warning with the
/// run time beyond an hour.
pub fn check_span(last_ms: f64, path: &Path) -> anyhow::Result<Option<String>> {
    let secs = last_ms / 1e3;
    if Seconds::new(secs).is_err() {
        bail!(
            "--input-file {}: the timestamps span {} ms from the schedule's zero: the replay would take {}; the longest schedule accepted is {MAX_SECONDS} s (7 days): check the timestamps' unit (ms), or give --fixed-schedule-auto-offset / --fixed-schedule-start-offset",
            path.display(),
            show(last_ms),
            human(secs)
        );
    }
    Ok((secs > WARN_SPAN_SECONDS).then(|| {
        format!(
            "--input-file {}: the schedule spans {}: the run takes at least that long",
            path.display(),
            human(secs)
        )
    }))
}

/// A long time in the unit a person reads it in.
fn human(secs: f64) -> String {
    match secs {
        s if s >= 86_400.0 * 365.0 => format!("{} years", show((s / (86_400.0 * 365.0)).round())),
        s if s >= 86_400.0 => format!("{:.1} days", s / 86_400.0),
        s if s >= 3600.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{s:.0} s"),
    }
}

/// Whether trace time `t` (ms) is inside the offsets' window (both ends inclusive).
pub fn within(replay: &Replay, t: f64) -> bool {
    replay.start_offset_ms.is_none_or(|s| t >= s as f64) && replay.end_offset_ms.is_none_or(|e| t <= e as f64)
}

/// The schedule's zero, in trace ms, for rows (or sessions) first sent at `starts`: the earliest
/// with auto offset, else the start offset, else 0 (AIPerf's rule).
pub fn zero(replay: &Replay, starts: impl Iterator<Item = f64>) -> f64 {
    if replay.auto_offset {
        starts.fold(f64::INFINITY, f64::min)
    } else {
        replay.start_offset_ms.unwrap_or(0) as f64
    }
}

/// The error for a window that keeps none of the file's `total` lines.
pub fn nothing_within(replay: &Replay, total: usize, path: &Path) -> String {
    format!(
        "--fixed-schedule-start-offset/--fixed-schedule-end-offset: none of the {total} lines of {} is stamped within [{}, {}] ms",
        path.display(),
        replay.start_offset_ms.unwrap_or(0),
        replay.end_offset_ms.map_or("end".into(), |e| e.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(ts: &[f64]) -> Vec<Prompt> {
        ts.iter()
            .enumerate()
            .map(|(i, t)| Prompt::from_payload(i, Default::default(), 1, None, Some(*t)))
            .collect()
    }

    fn sends(r: &Replay, ts: &[f64]) -> Vec<f64> {
        let s = schedule(rows(ts), r, Path::new("t.jsonl")).unwrap();
        assert!(s.trace);
        s.prompts.iter().map(|p| p.timestamp_ms.unwrap()).collect()
    }

    #[test]
    fn offsets_filter_and_set_the_zero_as_aiperf_does() {
        let ts = [1000.0, 1500.0, 1200.0, 3000.0, 2000.0];
        let auto = Replay {
            auto_offset: true,
            ..Replay::default()
        };
        // Auto offset: zero at the earliest, sorted by time.
        assert_eq!(sends(&auto, &ts), [0.0, 200.0, 500.0, 1000.0, 2000.0]);
        // A start offset turns auto offset off: zero at the offset; both ends inclusive.
        let window = Replay {
            required: true,
            start_offset_ms: Some(1200),
            end_offset_ms: Some(2000),
            ..Replay::default()
        };
        assert_eq!(sends(&window, &ts), [0.0, 300.0, 800.0]);
        // ... unless auto offset is asked for as well: zero at the earliest kept row.
        let both = Replay {
            auto_offset: true,
            start_offset_ms: Some(1300),
            ..window
        };
        assert_eq!(sends(&both, &ts), [0.0, 500.0]);
        // Neither: the trace's own clock.
        assert_eq!(sends(&Replay::default(), &[250.0, 100.0]), [100.0, 250.0]);
    }

    #[test]
    fn fixed_schedule_needs_timestamps_and_can_be_turned_off() {
        let req = Replay {
            required: true,
            ..Replay::default()
        };
        let unstamped = vec![Prompt::from_payload(0, Default::default(), 1, None, None)];
        let e = schedule(unstamped, &req, Path::new("d.jsonl"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--fixed-schedule") && e.contains("d.jsonl:1"), "{e}");
        let off = Replay {
            disabled: true,
            ..Replay::default()
        };
        let s = schedule(rows(&[5.0, 1.0]), &off, Path::new("t")).unwrap();
        assert!(!s.trace);
        assert!(s.prompts.iter().all(|p| p.timestamp_ms.is_none()));
        let e = schedule(
            rows(&[5.0]),
            &Replay {
                end_offset_ms: Some(1),
                ..req
            },
            Path::new("t"),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("none of the 1 lines"), "{e}");
    }
}
