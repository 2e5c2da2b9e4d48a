//! `sweep-plan --format make`: the plan as a Makefile fragment, for benchmark campaigns driven by
//! make. Every run's summary is a target built from its plan line (embedded, so the fragment stands
//! alone), the aggregates and findings depend on them: `make -f sweep.mk` runs what is missing,
//! `make -k` goes on past a failed run, `make -n` shows what would run. Benchmark runs must never
//! overlap, so the fragment is `.NOTPARALLEL` and every run refuses `-jN`.

use std::fmt::Write;
use std::path::Path;

use anyhow::bail;

use super::Plan;
use crate::artifacts::{AGGREGATE_JSON, SUMMARY_JSON, SWEEP_JSON};
use crate::contract::plan_line::PlanLine;

/// The fragment for `plan`; `command` is the sweep-plan command line that made it (a comment).
pub fn fragment(plan: &Plan, command: &str) -> anyhow::Result<String> {
    let base = make_path(&plan.layout.base_dir)?;
    let runs: Vec<String> = plan
        .lines
        .iter()
        .map(|l| make_path(Path::new(l.place.artifact_dir.as_deref().unwrap_or(""))))
        .collect::<anyhow::Result<_>>()?;
    let mut out = String::new();
    header(&mut out, &base, plan.lines.len(), command);
    let plan_file = format!("{base}/plan.jsonl");
    let summaries: Vec<String> = runs.iter().map(|d| format!("{d}/{SUMMARY_JSON}")).collect();
    let aggregates = aggregate_targets(plan, &base);
    let _ = writeln!(out, "SWEEP_RUNS := {}\n", summaries.join(" \\\n  "));
    let _ = writeln!(out, ".PHONY: all runs partial");
    match aggregates.first() {
        Some(_) => {
            let _ = writeln!(out, "all: {} {base}/report.html", aggregates.join(" "));
        }
        None => {
            let _ = writeln!(out, "all: runs");
        }
    }
    let _ = writeln!(out, "runs: $(SWEEP_RUNS)\n");
    plan_target(&mut out, &plan_file, &plan.lines)?;
    for (i, (line, dir)) in plan.lines.iter().zip(&runs).enumerate() {
        run_target(&mut out, line, dir, &plan_file, (i + 1, plan.lines.len()))?;
    }
    if !aggregates.is_empty() {
        let _ = writeln!(
            out,
            "{} &: $(SWEEP_RUNS) {plan_file}\n\t$(SWEEP_AGG) --plan {plan_file} --findings {base}/findings.md >/dev/null\n",
            aggregates.join(" ")
        );
        // The page is made from the aggregates (and the runs' records): it follows the last of them.
        let _ = writeln!(
            out,
            "{base}/report.html: {}\n\t$(REPORT) {base} -o $@\n",
            aggregates.last().map(String::as_str).unwrap_or_default()
        );
    }
    let _ = writeln!(
        out,
        "# The aggregates over whatever runs exist now (failed or missing runs are listed as such).\npartial: {plan_file}\n\t$(SWEEP_AGG) --plan {plan_file} --findings {base}/findings.md >/dev/null"
    );
    Ok(out)
}

fn header(out: &mut String, base: &str, n: usize, command: &str) {
    let _ = write!(
        out,
        "# sweepkit sweep {base}: {n} runs. Written by: {command}
#   make -f FILE        runs what is missing (a run is done when its {SUMMARY_JSON} exists)
#   make -k -f FILE     goes on past a failed run (its run_error.txt says why)
#   make -n -f FILE     shows what would run
#   make -f FILE partial  aggregates whatever runs exist
# Runs never overlap: the fragment is serial and refuses -jN. The API key is read by loadgen from
# OPENAI_API_KEY in the environment, never from this file. Tools: $(SWEEPKIT_BIN)<tool>, else PATH.
SWEEPKIT_BIN ?=
LOADGEN ?= $(SWEEPKIT_BIN)loadgen
TRIAL_AGG ?= $(SWEEPKIT_BIN)trial-agg
SWEEP_AGG ?= $(SWEEPKIT_BIN)sweep-agg
REPORT ?= $(SWEEPKIT_BIN)report
.NOTPARALLEL:
define sweepkit_serial
@case \" $(filter -j%,$(MAKEFLAGS)) \" in \"  \"|\" -j1 \") ;; *) echo \"sweep.mk: benchmark runs must never overlap: run make -j1 (not $(filter -j%,$(MAKEFLAGS)))\" >&2; exit 2;; esac
endef

"
    );
}

/// The aggregate files sweep-agg writes for this plan (none for a single run).
fn aggregate_targets(plan: &Plan, base: &str) -> Vec<String> {
    let layout = &plan.layout;
    let mut out = Vec::new();
    let mut labels: Vec<&str> = plan
        .lines
        .iter()
        .filter_map(|l| l.place.variation_label.as_deref())
        .collect();
    labels.dedup();
    labels.sort();
    labels.dedup();
    for label in labels {
        let dir = if layout.sweep { label } else { "" };
        if let Some(d) = layout.aggregate_dir(dir) {
            out.push(format!("{}/{AGGREGATE_JSON}", d.display()));
        }
    }
    if layout.sweep {
        out.push(format!("{base}/sweep_aggregate/{SWEEP_JSON}"));
        out.push(format!("{base}/findings.md"));
    }
    out
}

/// The plan file, written from the lines embedded here (sweep-agg labels the runs by it).
fn plan_target(out: &mut String, plan_file: &str, lines: &[PlanLine]) -> anyhow::Result<()> {
    let _ = writeln!(out, "{plan_file}:\n\t@mkdir -p $(@D)\n\t@: >$@.tmp");
    for l in lines {
        let _ = writeln!(
            out,
            "\t@printf '%s\\n' {} >>$@.tmp",
            recipe_word(&serde_json::to_string(l)?)
        );
    }
    let _ = writeln!(out, "\t@mv $@.tmp $@\n");
    Ok(())
}

/// One run: cooldown, loadgen on the embedded line, trial-agg into the run folder. A failed loadgen
/// fails the target and leaves its last message in run_error.txt.
fn run_target(
    out: &mut String,
    line: &PlanLine,
    dir: &str,
    plan_file: &str,
    (k, n): (usize, usize),
) -> anyhow::Result<()> {
    let spec = recipe_word(&serde_json::to_string(line)?);
    let _ = writeln!(out, "{dir}/{SUMMARY_JSON}: | {plan_file}\n\t$(sweepkit_serial)");
    if let Some(c) = line.place.cooldown_seconds.filter(|c| *c > 0.0) {
        let _ = writeln!(out, "\t@sleep {c}");
    }
    let _ = writeln!(
        out,
        "\t@mkdir -p {dir} && rm -f {dir}/run_error.txt
\t@echo 'sweep.mk: run {k}/{n} -> {dir}' >&2
\t@printf '%s\\n' {spec} | $(LOADGEN) --spec - --output {dir}/profile_export.jsonl --inputs-out {dir}/inputs.json \\
\t  --run-info-out {dir}/run_info.json 2>{dir}/loadgen.log \\
\t  || {{ rc=$$?; cat {dir}/loadgen.log >&2; tail -n 1 {dir}/loadgen.log >{dir}/run_error.txt; exit $$rc; }}
\t@$(TRIAL_AGG) --run-info {dir}/run_info.json --output-dir {dir} {dir}/profile_export.jsonl >/dev/null
"
    );
    Ok(())
}

/// A path make can name as a target: no spaces, colons, `#`, `$`, `%` or quotes.
fn make_path(p: &Path) -> anyhow::Result<String> {
    let s = p.display().to_string();
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || ":#$%'\"\\;=".contains(c)) {
        bail!("--format make: make cannot name the folder '{s}' as a target (spaces, ':', '#', '$', '%', '=' or quotes): choose an --artifact-dir without them");
    }
    Ok(s)
}

/// A word for a recipe: single-quoted for the shell, `$` doubled for make.
fn recipe_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''").replace('$', "$$"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::settings::{Settings, Sweepable};
    use crate::plan::{build, PlanOptions};

    #[test]
    fn runs_are_targets_and_aggregates_depend_on_them() {
        let p = build(&PlanOptions {
            base: Settings {
                model: Some("m".into()),
                extra_inputs: Some(serde_json::from_str(r#"{"stop":"it's $HOME"}"#).unwrap()),
                ..Default::default()
            },
            lists: vec![(Sweepable::Concurrency, vec![1u64.into(), 2u64.into()])],
            num_profile_runs: 2,
            run_cooldown_seconds: 1.5,
            ..Default::default()
        })
        .unwrap();
        let mk = fragment(&p, "sweep-plan -m m").unwrap();
        let base = "artifacts/m-openai-chat-concurrency_sweep";
        assert!(mk.contains(&format!(
            "{base}/profile_runs/trial_0002/concurrency_2/{SUMMARY_JSON}: | {base}/plan.jsonl"
        )));
        assert!(mk.contains(&format!(
            "{base}/aggregate/concurrency_1/{AGGREGATE_JSON} {base}/aggregate/concurrency_2/{AGGREGATE_JSON} {base}/sweep_aggregate/{SWEEP_JSON} {base}/findings.md &: $(SWEEP_RUNS)"
        )));
        assert_eq!(
            mk.matches("@sleep 1.5").count(),
            1,
            "trial 2 starts after the run cooldown (repeated mode)"
        );
        assert!(
            mk.contains(r#"it'\''s $$HOME"#),
            "quoted for the shell and for make"
        );
        assert!(mk.contains(".NOTPARALLEL:"));
        let bad = PlanOptions {
            artifact_dir: "my runs".into(),
            ..PlanOptions::default()
        };
        let p = build(&PlanOptions {
            base: Settings {
                model: Some("m".into()),
                ..Default::default()
            },
            ..bad
        })
        .unwrap();
        assert!(fragment(&p, "x")
            .unwrap_err()
            .to_string()
            .contains("--format make"));
    }
}
