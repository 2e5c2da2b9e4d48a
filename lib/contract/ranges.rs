//! The range of values a numeric setting accepts, declared once on its row of
//! `loadgen_settings!` (`#[range(..)]`): the CLI's value parsers and [`Settings::check`] (which
//! every plan line goes through) ask the same rule, so both refuse a value with the same words.
//!
//! [`Settings::check`]: super::settings::Settings::check

use super::seconds::{show, Seconds};

/// What a setting's values must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// A whole number >= 1.
    Count,
    /// A whole number >= 0 (a negative value is refused when it is parsed).
    Whole,
    /// A finite number > 0.
    Positive,
    /// A finite number >= 0.
    NonNegative,
    /// A fraction in (0, 1].
    Fraction,
    /// A percentage in [0, 100].
    Percent,
    /// Seconds, from 0 to 7 days ([`Seconds`]).
    Seconds,
    /// Seconds > 0, up to 7 days.
    PositiveSeconds,
    /// Seconds from 0 to 7 days, or `inf` (wait for ever).
    SecondsOrInf,
    /// Milliseconds, from 0 to 7 days.
    Millis,
}

impl Range {
    /// What is wrong with `x` (`must be at least 1`), for the caller to put after the flag and
    /// the value; Ok when it is in the range.
    pub fn check(self, x: f64) -> Result<(), String> {
        let ok = match self {
            Range::Count => x >= 1.0,
            Range::Whole => x >= 0.0,
            Range::Positive => x.is_finite() && x > 0.0,
            Range::NonNegative => x.is_finite() && x >= 0.0,
            Range::Fraction => x > 0.0 && x <= 1.0,
            Range::Percent => (0.0..=100.0).contains(&x),
            Range::Seconds => return Seconds::new(x).map(drop),
            Range::PositiveSeconds => {
                Seconds::new(x)?;
                x > 0.0
            }
            Range::SecondsOrInf if x == f64::INFINITY => true,
            Range::SecondsOrInf => return Seconds::new(x).map(drop).map_err(|why| format!("{why}, or inf")),
            Range::Millis => return Seconds::from_ms(x).map(drop),
        };
        if ok {
            return Ok(());
        }
        Err(match self {
            Range::Count => "must be at least 1",
            Range::Whole => "must not be negative",
            Range::Positive => "must be a positive number",
            Range::NonNegative => "must be a number >= 0",
            Range::Fraction => "must be a fraction in (0, 1], e.g. 0.5",
            Range::Percent => "must be a percentage from 0 to 100",
            _ => "must be a positive number of seconds",
        }
        .to_string())
    }

    /// `flag x: why` when `x` is out of the range (the one-line error of a plan line's value).
    pub fn check_flag(self, flag: &str, x: f64) -> anyhow::Result<()> {
        self.check(x)
            .map_err(|why| anyhow::anyhow!("{flag} {}: {why}", show(x)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_range_takes_its_edges_and_names_what_is_wrong() {
        let cases: &[(Range, f64, f64, &str)] = &[
            (Range::Count, 1.0, 0.0, "must be at least 1"),
            (Range::Positive, 1e-9, 0.0, "must be a positive number"),
            (Range::NonNegative, 0.0, -0.5, "must be a number >= 0"),
            (Range::Fraction, 1.0, 0.0, "must be a fraction in (0, 1]"),
            (Range::Percent, 100.0, 100.5, "must be a percentage from 0 to 100"),
            (Range::Seconds, 0.0, -1.0, "from 0 to 604800 (7 days)"),
            (
                Range::PositiveSeconds,
                604800.0,
                0.0,
                "must be a positive number of seconds",
            ),
            (Range::PositiveSeconds, 1.0, 1e300, "from 0 to 604800 (7 days)"),
            (Range::SecondsOrInf, f64::INFINITY, -1.0, "(7 days), or inf"),
            (Range::Millis, 604800e3, 604800e3 + 1.0, "ms from 0 to 604800000"),
        ];
        for &(range, good, bad, why) in cases {
            assert_eq!(range.check(good), Ok(()), "{range:?} {good}");
            let e = range.check(bad).unwrap_err();
            assert!(e.contains(why), "{range:?} {bad}: {e}");
        }
        for r in [
            Range::Positive,
            Range::NonNegative,
            Range::Fraction,
            Range::Percent,
            Range::Seconds,
        ] {
            assert!(r.check(f64::NAN).is_err(), "{r:?} refuses NaN");
        }
        let e = Range::Count.check_flag("--isl", 0.0).unwrap_err().to_string();
        assert_eq!(e, "--isl 0: must be at least 1");
    }
}
