//! Server metrics and GPU telemetry: the Prometheus text parser ([`prometheus`]), the scraper that
//! streams sample lines ([`scrape`], [`samples`]), their summary over a trial's profiling window
//! ([`window`]), AIPerf's export files from it ([`export`]) and the key figures that join the trial's
//! metrics ([`key_figures`]). trial-agg calls the functions re-exported here.

pub mod energy;
pub mod export;
pub mod key_figures;
pub mod prometheus;
pub mod samples;
pub mod scrape;
pub mod window;

pub use export::{export_csv, export_document, gpu_csv_section};
pub use key_figures::key_figures;
pub use samples::{read_samples, SampleLine};
pub use window::{per_gpu, summarize};
