//! The load flags, declared once in the library's table (`sweepkit::loadgen_settings!`): loadgen
//! flattens them to run one setting, sweep-plan flattens the same struct to write a plan. The flags
//! a sweep may list take comma lists in both; loadgen refuses a list with more than one value.
//! Values are typed and range-checked here by one set of parsers, so both tools refuse a bad value
//! with the same message; the combinations are checked by the library's `Settings::check`, which
//! both tools call.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use sweepkit::contract::ranges::Range;
use sweepkit::contract::settings::{
    parse_extra_inputs, ArrivalPattern, AudioFormat, DatasetType, EndpointType, FlagValue, ImageFormat,
    PublicDataset, SamplingStrategy, Settings, SourceSampling, Sweepable, Urls, VideoAudioCodec, VideoCodec,
    VideoFormat, VideoSynth,
};

/// An enum flag parsed by its serde names, listed in `--help` and in the error for a bad value.
fn one_of<T: FlagValue + Clone + Send + Sync>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::NAMES).map(|s| T::parse(&s).expect("a listed name parses"))
}

/// An empty item (`10,,20`) says so rather than "not a number".
fn nonempty(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("empty value: give a number, or a comma list like 10,20,30".into());
    }
    Ok(())
}

/// A whole number ≥ 0.
fn whole(s: &str) -> Result<u64, String> {
    nonempty(s)?;
    s.trim().parse().map_err(|_| {
        if s.trim().parse::<f64>().is_ok_and(|x| x < 0.0) {
            "must not be negative".to_string()
        } else {
            "not a whole number (e.g. 8)".to_string()
        }
    })
}

fn real(s: &str) -> Result<f64, String> {
    nonempty(s)?;
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| !x.is_nan())
        .ok_or_else(|| "not a number (e.g. 2.5)".to_string())
}

/// The number types a ranged flag takes.
trait Number: Sized + Copy {
    fn parse(s: &str) -> Result<Self, String>;
    fn as_f64(self) -> f64;
}

impl Number for u64 {
    fn parse(s: &str) -> Result<u64, String> {
        whole(s)
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Number for f64 {
    fn parse(s: &str) -> Result<f64, String> {
        real(s)
    }
    fn as_f64(self) -> f64 {
        self
    }
}

/// The parser of a flag whose row declares `#[range(..)]`: a number of type `T` within the
/// range, refused in the range's own words (the same `Settings::check` gives a plan line).
fn ranged<T: Number>(range: Range) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |s| {
        let x = T::parse(s)?;
        range.check(x.as_f64())?;
        Ok(x)
    }
}

/// Generates `LoadArgs` with `lists` and `base_settings` from the library's one table of settings
/// (`sweepkit::loadgen_settings!`, lib/contract/load_flags.rs). The rows are collected by kind and
/// the code that reads `self` is written in the last step (where `self` is in scope).
macro_rules! load_args_from_table {
    (@rows [$($fields:tt)*] [$(($variant:ident $list:ident))*] [$($opt:ident)*] [$($flag:ident)*] [$($urls:ident)*] [$($extra:ident)*]) => {
        /// Every loadgen setting a command line can give (secrets and outputs are not settings: each
        /// tool declares those itself).
        #[derive(Args, Debug, Clone, Default)]
        pub struct LoadArgs {
            $($fields)*
        }

        impl LoadArgs {
            /// The comma lists as given, flag by flag in sweep order (only the flags that were given).
            pub fn lists(&self) -> Vec<(Sweepable, Vec<serde_json::Value>)> {
                let all = [$((Sweepable::$variant, json_values(&self.$list))),*];
                all.into_iter().filter(|(_, v)| !v.is_empty()).collect()
            }

            /// The settings without the list flags (a plan sets those per line).
            pub fn base_settings(&self) -> anyhow::Result<Settings> {
                Ok(Settings {
                    $($opt: Option::clone(&self.$opt),)*
                    $($flag: self.$flag.then_some(true),)*
                    $($urls: Urls::from_flags(&self.$urls),)*
                    $($extra: if self.$extra.is_empty() {
                        None
                    } else {
                        Some(parse_extra_inputs(&self.$extra)?)
                    },)*
                    ..Default::default()
                })
            }
        }
    };
    (@rows [$($fields:tt)*] [$($lists:tt)*] [$($opt:ident)*] [$($flag:ident)*] [$($urls:ident)*] [$($extra:ident)*]
        $(#[doc = $d:literal])* #[arg $arg:tt] $(#[range($r:ident)])? $field:ident: sweep($t:ident) => $variant:ident, $($rest:tt)*) => {
        load_args_from_table!(@rows
            [$($fields)* $(#[doc = $d])* #[arg $arg] $(#[arg(value_parser = ranged::<$t>(Range::$r))])? pub $field: Vec<$t>,]
            [$($lists)* ($variant $field)] [$($opt)*] [$($flag)*] [$($urls)*] [$($extra)*]
            $($rest)*);
    };
    (@rows [$($fields:tt)*] [$($lists:tt)*] [$($opt:ident)*] [$($flag:ident)*] [$($urls:ident)*] [$($extra:ident)*]
        $(#[doc = $d:literal])* #[arg $arg:tt] $(#[range($r:ident)])? $field:ident: opt($t:ident), $($rest:tt)*) => {
        load_args_from_table!(@rows
            [$($fields)* $(#[doc = $d])* #[arg $arg] $(#[arg(value_parser = ranged::<$t>(Range::$r))])? pub $field: Option<$t>,]
            [$($lists)*] [$($opt)* $field] [$($flag)*] [$($urls)*] [$($extra)*]
            $($rest)*);
    };
    // A list-valued option (`opt(Vec<f64>)`): a type, not a name, and no declared range.
    (@rows [$($fields:tt)*] [$($lists:tt)*] [$($opt:ident)*] [$($flag:ident)*] [$($urls:ident)*] [$($extra:ident)*]
        $(#[doc = $d:literal])* #[arg $arg:tt] $field:ident: opt($t:ty), $($rest:tt)*) => {
        load_args_from_table!(@rows
            [$($fields)* $(#[doc = $d])* #[arg $arg] pub $field: Option<$t>,]
            [$($lists)*] [$($opt)* $field] [$($flag)*] [$($urls)*] [$($extra)*]
            $($rest)*);
    };
    (@rows [$($fields:tt)*] [$($lists:tt)*] [$($opt:ident)*] [$($flag:ident)*] [$($urls:ident)*] [$($extra:ident)*]
        $(#[doc = $d:literal])* #[arg $arg:tt] $field:ident: flag(bool), $($rest:tt)*) => {
        load_args_from_table!(@rows
            [$($fields)* $(#[doc = $d])* #[arg $arg] pub $field: bool,]
            [$($lists)*] [$($opt)*] [$($flag)* $field] [$($urls)*] [$($extra)*]
            $($rest)*);
    };
    (@rows [$($fields:tt)*] [$($lists:tt)*] [$($opt:ident)*] [$($flag:ident)*] [$($urls:ident)*] [$($extra:ident)*]
        $(#[doc = $d:literal])* #[arg $arg:tt] $field:ident: urls($($t:tt)+), $($rest:tt)*) => {
        load_args_from_table!(@rows
            [$($fields)* $(#[doc = $d])* #[arg $arg] pub $field: Vec<String>,]
            [$($lists)*] [$($opt)*] [$($flag)*] [$($urls)* $field] [$($extra)*]
            $($rest)*);
    };
    (@rows [$($fields:tt)*] [$($lists:tt)*] [$($opt:ident)*] [$($flag:ident)*] [$($urls:ident)*] [$($extra:ident)*]
        $(#[doc = $d:literal])* #[arg $arg:tt] $field:ident: extra($($t:tt)+), $($rest:tt)*) => {
        load_args_from_table!(@rows
            [$($fields)* $(#[doc = $d])* #[arg $arg] pub $field: Vec<String>,]
            [$($lists)*] [$($opt)*] [$($flag)*] [$($urls)*] [$($extra)* $field]
            $($rest)*);
    };
    ($($rows:tt)*) => {
        load_args_from_table!(@rows [] [] [] [] [] [] $($rows)*);
    };
}

sweepkit::loadgen_settings!(load_args_from_table);

/// A comma list as JSON values (whole numbers stay whole).
fn json_values<T: Copy + Into<serde_json::Value>>(v: &[T]) -> Vec<serde_json::Value> {
    v.iter().map(|&x| x.into()).collect()
}

impl LoadArgs {
    /// The settings of one run: every list must hold one value (loadgen runs one setting).
    #[allow(dead_code)] // sweep-plan writes lists; only loadgen runs one setting
    pub fn single_settings(&self) -> anyhow::Result<Settings> {
        let mut s = self.base_settings()?;
        for (param, values) in self.lists() {
            if values.len() > 1 {
                let text: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                anyhow::bail!(
                    "{} {}: loadgen runs one setting; sweep a list with sweep-plan (or scripts/profile)",
                    param.flag(),
                    text.join(",")
                );
            }
            s.set_swept(param, &values[0])?;
        }
        Ok(s)
    }
}
