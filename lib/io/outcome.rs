//! How a stage ended, as a value. `bins/` map it to the process exit code:
//! 0 ok, 1 a negative verdict (e.g. no point meets the SLO), 2 usage or fatal error (an `Err`),
//! 130 interrupted after flushing what was measured.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Negative,
    Interrupted,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Ok => 0,
            Outcome::Negative => 1,
            Outcome::Interrupted => 130,
        }
    }
}

/// Exit code for a fatal error or bad usage.
pub const EXIT_ERROR: u8 = 2;
