//! What to write: each request's record (metrics), the run info (client health, CPU, RSS), and
//! the progress UI.

pub mod metrics;
pub mod progress;
pub mod run_info;
pub mod spec_decode;
pub mod usage_extras;
