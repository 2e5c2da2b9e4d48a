//! The hand-offs between stages: one serde type per file format, used by both its writer and its
//! reader, so a field cannot drift between the stage that writes it and the one that reads it.

pub mod collated;
pub mod comparison;
pub mod convergence;
pub mod inputs;
pub mod limits;
pub mod load_flags;
pub mod media;
pub mod network_latency;
pub mod plan_line;
pub mod ranges;
pub mod records;
pub mod run_info;
pub mod seconds;
pub mod settings;
pub mod sla_filter;
pub mod summary;
pub mod sweep_aggregate;
pub mod value_aggregate;
