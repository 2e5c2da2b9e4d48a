//! report: a results folder (a sweep's, a single run's, or AIPerf's own artifact tree) as ONE
//! self-contained HTML file with inline SVG charts. [`load`] finds what the folder holds, [`digest`]
//! reduces each run's records to what the charts need, the section modules draw ([`overview`],
//! [`parameters`], [`frontier`], [`distributions`], [`timeline`]) with [`svg`]'s primitives, and
//! [`page`] assembles the page. This file sequences them and writes the file atomically.

pub mod comparison_page;
pub mod configurations;
pub mod digest;
pub mod distributions;
pub mod frontier;
pub mod load;
pub mod overview;
pub mod page;
pub mod parameters;
pub mod svg;
pub mod timeline;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::artifacts::REPORT_HTML;
use crate::pareto::Slo;
use digest::Digest;
use load::{Folder, Status};

/// What `report` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// The folder to report on.
    pub dir: PathBuf,
    /// Where to write the page (default `<dir>/report.html`).
    pub output: Option<PathBuf>,
    /// The SLOs to shade on the Pareto chart (and to judge points by), as pareto takes them.
    pub slos: Vec<Slo>,
    /// The page's title (default: the folder's name).
    pub title: Option<String>,
}

/// What was written and what was noticed on the way (the caller prints the warnings).
#[derive(Debug, Clone, Serialize)]
pub struct ReportSummary {
    pub report: PathBuf,
    pub bytes: usize,
    pub charts: usize,
    pub runs_ok: usize,
    pub runs_failed: usize,
    pub runs_unfinished: usize,
    pub runs_not_run: usize,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// What every section reads: the folder, each run's digested records (by run index) and the SLOs.
pub struct Ctx<'a> {
    pub folder: &'a Folder,
    pub digests: Vec<Option<Digest>>,
    pub slos: &'a [Slo],
}

impl Ctx<'_> {
    /// A run's errors by label: from its records when read, else from its summary.
    pub fn errors_of(&self, run: usize) -> BTreeMap<String, u64> {
        match (&self.digests[run], &self.folder.runs[run].summary) {
            (Some(d), _) => d.errors.clone(),
            (None, Some(s)) => overview::summary_errors(&s.doc),
            (None, None) => BTreeMap::new(),
        }
    }
}

/// Reads every run's records; a file that cannot be read costs that run its charts, not the page.
fn digest_runs(folder: &Folder, warnings: &mut Vec<String>) -> Vec<Option<Digest>> {
    folder
        .runs
        .iter()
        .map(|r| {
            let p = r.records.as_ref()?;
            match digest::digest(p) {
                Ok(d) => {
                    warnings.extend(d.warnings.iter().cloned());
                    Some(d)
                }
                Err(e) => {
                    warnings.push(format!(
                        "{e:#}: this run's distributions and timeline are left out"
                    ));
                    None
                }
            }
        })
        .collect()
}

/// The page for a loaded folder, and the warnings met while drawing it.
pub fn render(folder: &Folder, slos: &[Slo], title: &str) -> (String, Vec<String>) {
    let mut warnings = folder.warnings.clone();
    let ctx = Ctx {
        folder,
        digests: digest_runs(folder, &mut warnings),
        slos,
    };
    let mut sections = vec![overview::overview(&ctx)];
    sections.extend(overview::findings(folder));
    sections.extend(parameters::sections(&ctx));
    sections.extend(frontier::section(&ctx));
    sections.extend(distributions::section(&ctx));
    sections.extend(timeline::section(&ctx, &mut warnings));
    sections.push(overview::problems(&ctx));
    let kind = if folder.is_sweep() {
        format!("sweep of {} values", folder.values.len())
    } else {
        "single run".to_string()
    };
    let subtitle = format!("{kind} · {} · sweepkit report", folder.root.display());
    (page::render(title, &subtitle, &sections), warnings)
}

/// Loads the folder, draws the page and writes it atomically.
pub fn run(opts: &ReportOptions) -> anyhow::Result<ReportSummary> {
    let folder = load::load(&opts.dir)?;
    let out = opts.output.clone().unwrap_or_else(|| opts.dir.join(REPORT_HTML));
    let title = opts.title.clone().unwrap_or_else(|| {
        let name = std::fs::canonicalize(&opts.dir)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| opts.dir.display().to_string());
        format!("Benchmark report: {name}")
    });
    let (html, warnings) = render(&folder, &opts.slos, &title);
    crate::io::atomic::write(&out, html.as_bytes())?;
    let count = |s: fn(&Status) -> bool| folder.runs.iter().filter(|r| s(&r.status)).count();
    Ok(ReportSummary {
        report: out,
        bytes: html.len(),
        charts: html.matches("<svg class=\"chart\"").count(),
        runs_ok: count(|s| *s == Status::Ok),
        runs_failed: count(|s| matches!(s, Status::Failed(_))) + folder.failed_elsewhere.len(),
        runs_unfinished: count(|s| matches!(s, Status::Unfinished(_))),
        runs_not_run: folder.missing.len(),
        warnings,
    })
}
