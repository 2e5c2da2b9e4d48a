//! `--search-space path:lo,hi[:int|real]`: the one dimension a 1-D planner searches. The path is
//! a sweepable load setting (`concurrency`, `request_rate`), or AIPerf's config path for it
//! (`phases.profiling.concurrency`, `phases.profiling.request_rate`).

use serde::Serialize;

use crate::contract::settings::Sweepable;

/// Whether the dimension takes whole numbers or reals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Int,
    Real,
}

/// One search dimension; serialized as AIPerf writes it in `search_history.json`'s config.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dimension {
    /// As the user gave it (AIPerf's key in `variation_values`).
    pub path: String,
    pub lo: f64,
    pub hi: f64,
    pub kind: Kind,
    /// The load setting it drives.
    #[serde(skip)]
    pub param: Sweepable,
}

impl Dimension {
    /// Parses `path:lo,hi[:kind]` (kind defaults to real, as in AIPerf).
    pub fn parse(raw: &str) -> Result<Dimension, String> {
        let fail = |why: &str| format!("--search-space '{raw}': {why}; e.g. 'concurrency:1,512:int'");
        let parts: Vec<&str> = raw.split(':').collect();
        let (path, bounds, kind) = match parts.as_slice() {
            [p, b] => (*p, *b, Kind::Real),
            [p, b, "int"] => (*p, *b, Kind::Int),
            [p, b, "real"] => (*p, *b, Kind::Real),
            [_, _, k] => return Err(fail(&format!("kind must be 'int' or 'real', got '{k}'"))),
            _ => return Err(fail("expected 'path:lo,hi[:kind]'")),
        };
        let param = match path.strip_prefix("phases.profiling.").unwrap_or(path) {
            "concurrency" => Sweepable::Concurrency,
            "request_rate" | "rate" => Sweepable::RequestRate,
            other => {
                return Err(fail(&format!(
                    "'{other}' cannot be searched: give concurrency or request_rate"
                )))
            }
        };
        let (lo, hi) = bounds
            .split_once(',')
            .ok_or_else(|| fail("missing ',' between lo and hi"))?;
        let num = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| fail(&format!("bound '{s}' is not a number")))
        };
        let (lo, hi) = (num(lo)?, num(hi)?);
        if hi <= lo {
            return Err(fail(&format!(
                "the space is empty: hi ({hi}) must be greater than lo ({lo})"
            )));
        }
        if lo <= 0.0 {
            return Err(fail(&format!(
                "lo must be positive (got {lo}): a load of 0 is no load"
            )));
        }
        if param == Sweepable::Concurrency && kind != Kind::Int {
            return Err(fail("concurrency is a whole number: add ':int'"));
        }
        if kind == Kind::Int && (lo.fract() != 0.0 || hi.fract() != 0.0) {
            return Err(fail("an int dimension needs whole-number bounds"));
        }
        Ok(Dimension {
            path: path.to_string(),
            lo,
            hi,
            kind,
            param,
        })
    }

    /// The parameter's name in plan lines and folders (`concurrency`, `request_rate`).
    pub fn key(&self) -> &'static str {
        self.param.key()
    }
}

/// The parameter a search will vary, read from a `--search-space` value and the recipe before
/// either is checked (to name the search's folder, so even a bad value gets a findings entry).
pub fn param_hint(space: Option<&str>, recipe: Option<&str>) -> Sweepable {
    let path = space.and_then(|s| s.split(':').next()).unwrap_or("");
    match path.strip_prefix("phases.profiling.").unwrap_or(path) {
        "request_rate" | "rate" => Sweepable::RequestRate,
        "concurrency" => Sweepable::Concurrency,
        _ if recipe == Some("max-request-rate-under-sla") => Sweepable::RequestRate,
        _ => Sweepable::Concurrency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spaces_and_refuses_empty_ones() {
        let d = Dimension::parse("concurrency:1,512:int").unwrap();
        assert_eq!(
            (d.lo, d.hi, d.kind, d.param),
            (1.0, 512.0, Kind::Int, Sweepable::Concurrency)
        );
        let d = Dimension::parse("phases.profiling.concurrency:2,8:int").unwrap();
        assert_eq!(d.key(), "concurrency");
        for (raw, want) in [
            ("concurrency:8,8:int", "the space is empty"),
            ("concurrency:9,1:int", "the space is empty"),
            ("concurrency:1,8", "whole number"),
            ("isl:1,8:int", "cannot be searched"),
            ("concurrency:1;8:int", "missing ','"),
            ("concurrency:1,8:float", "kind must be"),
            ("concurrency:0,8:int", "positive"),
        ] {
            let e = Dimension::parse(raw).unwrap_err();
            assert!(e.contains(want), "{raw}: {e}");
        }
    }
}
