//! Numbers about numbers: per-run distributions (percentiles, moments), across-trial confidence
//! intervals, and trends along a swept parameter. Pure functions, no formats.

pub mod bootstrap;
pub mod confidence;
pub mod distribution;
pub mod isotonic;
pub mod knee;
pub mod ks;
pub mod numpy_random;
pub mod proportion;
pub mod trends;
pub mod welch;
