//! The search's entry in `findings.md`: the answer and its uncertainty, how the search ran, where
//! it stopped and why, and every iteration; or, when it could not run, the one-line reason.

use std::fmt::Write;

use super::answer::Answer;
use super::feasibility::averaged;
use super::history::IterationEntry;
use super::recipes::SearchConfig;
use super::Iteration;

fn header(cfg: &SearchConfig) -> String {
    let filters: Vec<String> = cfg
        .filters
        .iter()
        .map(|f| format!("`{}`", super::sla_names::describe(f)))
        .collect();
    let mut s = String::from("# Findings\n\n## SLA search\n\n");
    let _ = writeln!(
        s,
        "- Question: {}; planner `{}`; {} in [{}, {}]; SLA: {}{}",
        cfg.recipe
            .as_deref()
            .map_or("custom search".to_string(), |r| format!("`{r}`")),
        cfg.planner.name(),
        cfg.dim.key(),
        cfg.dim.lo,
        cfg.dim.hi,
        filters.join(" and "),
        if cfg.slos.is_empty() {
            String::new()
        } else {
            let s: Vec<String> = cfg.slos.iter().map(|(t, v)| format!("{t} ≤ {}", v)).collect();
            format!(" (a request is good when {})", s.join(" and "))
        }
    );
    s
}

/// The entry for a search that could not start (its flags are wrong), written to `path`.
pub fn write_error(path: &std::path::Path, message: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text =
        format!("# Findings\n\n## SLA search\n\n- **No answer:** the search could not start: {message}\n");
    crate::io::atomic::write(path, text.as_bytes())
}

/// The entry for a search that could not go on.
pub fn error(cfg: &SearchConfig, message: &str) -> String {
    let mut s = header(cfg);
    let _ = writeln!(s, "- **No answer:** the search stopped with an error: {message}");
    s
}

/// The entry for a finished search.
pub fn render(cfg: &SearchConfig, a: &Answer, entries: &[IterationEntry], its: &[Iteration]) -> String {
    let mut s = header(cfg);
    let _ = writeln!(s, "- **Answer:** {}", a.text);
    if let Some(i) = &a.interval {
        let crossing = match (i.crossing, i.crossing_lo, i.crossing_hi) {
            (Some(c), Some(lo), Some(hi)) => {
                format!("; the SLA margin crosses zero at {c:.2} (95% {lo:.2}–{hi:.2})")
            }
            (Some(c), _, _) => format!("; the SLA margin crosses zero at {c:.2}"),
            _ => String::new(),
        };
        let _ = writeln!(s, "- Uncertainty: {}{crossing}", i.method);
    }
    if let Some(b) = &a.boundary {
        let checks: Vec<String> = b
            .checks
            .iter()
            .map(|c| {
                let verdict = match (c.stable, c.passes > c.fails) {
                    (false, _) => "unsettled",
                    (true, true) => "holds",
                    (true, false) => "fails",
                };
                format!("{} {verdict} ({} held, {} failed)", c.value, c.passes, c.fails)
            })
            .collect();
        let _ = writeln!(
            s,
            "- Boundary re-measured until each verdict led by two runs: {}; {} extra runs of {} allowed (--search-verify-runs)",
            if checks.is_empty() { "nothing to check".to_string() } else { checks.join(", ") },
            b.extra_runs,
            b.budget
        );
    }
    if !a.sure {
        let _ = writeln!(
            s,
            "- **Unsure:** the answer is the best guess from verdicts that did not settle; more runs per value (--num-profile-runs), more requests per run or a larger --search-verify-runs would settle it"
        );
    }
    let _ = writeln!(
        s,
        "- Stopped: `{}` after {} iterations ({} runs)",
        a.convergence_reason,
        entries.len(),
        a.runs
    );
    if entries.iter().any(|e| e.non_monotonic_warning) {
        let _ = writeln!(s, "- Warning: the SLA verdicts were not monotonic in {} (a value failed below one that held): the boundary is noisy; more trials (--num-profile-runs) or more requests per run would firm it up", cfg.dim.key());
    }
    let _ = writeln!(
        s,
        "\n| iteration | {} | feasible | {} | {} {} |",
        cfg.dim.key(),
        cfg.filters
            .iter()
            .map(|f| format!("{} {}", f.metric_tag, f.stat))
            .collect::<Vec<_>>()
            .join(" | "),
        cfg.objective.metric,
        cfg.objective.stat
    );
    let _ = writeln!(s, "|---|---|---|{}---|", "---|".repeat(cfg.filters.len()));
    for (e, it) in entries.iter().zip(its) {
        let cells: Vec<String> = cfg
            .filters
            .iter()
            .map(|f| {
                averaged(&it.trials, &f.metric_tag, &f.stat, &cfg.slos)
                    .map_or("–".into(), |v| format!("{v:.2}"))
            })
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            e.iteration_idx,
            e.value,
            if e.feasible { "yes" } else { "no" },
            cells.join(" | "),
            e.objective.map_or("–".into(), |v| format!("{v:.2}"))
        );
    }
    s
}
