//! Where a sweep's files go: AIPerf's tree as the Parameter Sweeping guide draws it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The guide's two execution orders when a sweep is combined with trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepMode {
    /// `for trial: for value:` — the whole sweep, N times.
    #[default]
    Repeated,
    /// `for value: for trial:` — all trials of one value before the next.
    Independent,
}

impl SweepMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SweepMode::Repeated => "repeated",
            SweepMode::Independent => "independent",
        }
    }
}

/// An SLA search's iteration folder: `search_iter_0003` (AIPerf's adaptive layout).
pub fn search_iteration_dir(base: &Path, iteration: usize) -> PathBuf {
    base.join(format!("search_iter_{iteration:04}"))
}

/// A search trial's folder: `search_iter_0003/profile_runs/run_0001` (trial 1-based).
pub fn search_trial_dir(base: &Path, iteration: usize, trial: u32) -> PathBuf {
    search_iteration_dir(base, iteration)
        .join("profile_runs")
        .join(format!("run_{trial:04}"))
}

/// The iteration number of a `search_iter_0003` folder.
pub fn search_iteration_number(name: &str) -> Option<usize> {
    let digits = name.strip_prefix("search_iter_")?;
    (digits.len() >= 4 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The shape of a sweep's folder tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// `<artifact-dir>/<model>-openai-<endpoint>-<stimulus>`.
    pub base_dir: PathBuf,
    /// True when more than one combination is measured.
    pub sweep: bool,
    pub trials: u32,
    pub mode: SweepMode,
    /// An SLA search's folder: every value gets its aggregate below `aggregate/`, also from one
    /// trial (AIPerf's n=1 confidence files).
    pub adaptive: bool,
}

impl Layout {
    /// `trial_0001` in sweeps, `run_0001` otherwise (AIPerf's labels).
    pub fn trial_label(&self, trial: u32) -> String {
        if self.sweep {
            format!("trial_{trial:04}")
        } else {
            format!("run_{trial:04}")
        }
    }

    /// The folder of one run.
    pub fn run_dir(&self, dir_name: &str, trial: u32) -> PathBuf {
        let b = &self.base_dir;
        match (self.sweep, self.trials > 1, self.mode) {
            (false, false, _) => b.clone(),
            (false, true, _) => b.join("profile_runs").join(self.trial_label(trial)),
            (true, false, _) => b.join(dir_name),
            (true, true, SweepMode::Repeated) => b
                .join("profile_runs")
                .join(self.trial_label(trial))
                .join(dir_name),
            (true, true, SweepMode::Independent) => b
                .join(dir_name)
                .join("profile_runs")
                .join(self.trial_label(trial)),
        }
    }

    /// The folder of one combination's confidence aggregate (`None` when there are no trials to aggregate).
    pub fn aggregate_dir(&self, dir_name: &str) -> Option<PathBuf> {
        let b = &self.base_dir;
        if self.adaptive {
            return Some(b.join("aggregate").join(dir_name));
        }
        match (self.sweep, self.trials > 1, self.mode) {
            (_, false, _) => None,
            (false, true, _) => Some(b.join("aggregate")),
            (true, true, SweepMode::Repeated) => Some(b.join("aggregate").join(dir_name)),
            (true, true, SweepMode::Independent) => Some(b.join(dir_name).join("aggregate")),
        }
    }

    /// The folder of the sweep aggregate (`None` without a sweep).
    pub fn sweep_aggregate_dir(&self) -> Option<PathBuf> {
        self.sweep.then(|| self.base_dir.join("sweep_aggregate"))
    }

    /// The base folder of a run folder, by removing what `run_dir` added.
    pub fn base_of(run_dir: &Path, sweep: bool, trials: u32) -> PathBuf {
        let depth = match (sweep, trials > 1) {
            (false, false) => 0,
            (false, true) => 2,
            (true, false) => 1,
            (true, true) => 3,
        };
        let mut p = run_dir.to_path_buf();
        for _ in 0..depth {
            p.pop();
        }
        p
    }
}
