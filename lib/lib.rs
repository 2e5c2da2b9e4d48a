//! sweepkit: benchmark LLM inference servers the way NVIDIA AIPerf does, as small composable tools.
//!
//! Data flows one way: plan → records → trial summary → sweep aggregate → frontier → report. The
//! folders show it: shared layers at the bottom (`io`, `stats`, `contract`, `artifacts`), one folder
//! per stage above them (`plan`, `loadgen`, `telemetry`, `trial`, `sweep`, `search`, `pareto`,
//! `report`), and the bundled server (`mock`). A stage imports the shared layers and only the
//! stages that docs/architecture.md's table allows, each for a reason written there
//! (`tests/stage_imports.rs` holds every folder to it). The library knows nothing about clap or the
//! terminal: `bins/` parse arguments into the typed options defined here, call in, print what
//! comes back and map it to an exit code.
pub mod artifacts;
pub mod compare;
pub mod contract;
pub mod io;
pub mod loadgen;
pub mod mock;
pub mod pareto;
pub mod plan;
pub mod report;
pub mod search;
pub mod stats;
pub mod sweep;
pub mod telemetry;
pub mod trial;
