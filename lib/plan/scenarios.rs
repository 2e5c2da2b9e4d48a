//! AIPerf's `scenarios` sweep: hand-picked named runs, each given on the command line as
//! `--variant '[name:] key=value, key=value'` (AIPerf 0.13's `--variant` / `--sweep-variant`).
//! Each run's folder is its name (AIPerf's `SweepVariation.dir_name` for a nested override);
//! runs are planned in the order given.

use anyhow::{anyhow, bail};
use serde_json::Value;

use crate::contract::settings::Sweepable;

/// One named run: the settings it changes from the shared command line, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The name as given (`v0`, `v1`… when none is: AIPerf's default).
    pub name: String,
    pub values: Vec<(Sweepable, Value)>,
}

impl Scenario {
    /// The run's folder: the name without AIPerf's path-unsafe characters (`qps:100` → `qps100`),
    /// `variation_<index>` when nothing is left (AIPerf's `_label_dir_segment`).
    pub fn dir_name(&self, index: usize) -> String {
        let mut s = self.name.replace(['/', '\\'], "").replace("..", "");
        s.retain(|c| !matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'));
        if s.chars().all(|c| c == '.') {
            format!("variation_{index}")
        } else {
            s
        }
    }
}

/// Parses every `--variant`; `key` resolves a flag name (kebab- or snake-case, without `--`) to
/// the setting it lists. AIPerf's rules: at least two variants, unique path-safe names.
pub fn parse_all(raw: &[String], key: impl Fn(&str) -> Option<Sweepable>) -> anyhow::Result<Vec<Scenario>> {
    if raw.len() == 1 {
        bail!(
            "--variant: a single variant is not a sweep: give --variant at least twice, or set the flags themselves for one run"
        );
    }
    let mut out: Vec<Scenario> = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let sc = parse(s, i, &key).map_err(|e| anyhow!("--variant '{s}': {e}"))?;
        if out.iter().any(|o| o.name == sc.name) {
            bail!(
                "--variant '{s}': the name '{}' is used twice: each run's folder is its name, so give every variant its own",
                sc.name
            );
        }
        out.push(sc);
    }
    Ok(out)
}

/// One `[name:] key=value, key=value` (AIPerf's `parse_variant`), the `index`th given.
fn parse(s: &str, index: usize, key: &impl Fn(&str) -> Option<Sweepable>) -> anyhow::Result<Scenario> {
    let raw = s.trim();
    if raw.is_empty() {
        bail!("empty: give '[name:] key=value, key=value' (e.g. 'small: isl=128, concurrency=4')");
    }
    let (name, body) = match raw.split_once(':') {
        Some((head, tail)) if !head.contains('=') => {
            let name = head.trim();
            if name.is_empty() {
                bail!("empty name before ':' (drop the ':' to be named v{index})");
            }
            (name.to_string(), tail.trim())
        }
        _ => (format!("v{index}"), raw),
    };
    check_name(&name)?;
    if body.is_empty() {
        bail!("no key=value pairs after the name (e.g. 'small: isl=128')");
    }
    let mut values: Vec<(Sweepable, Value)> = Vec::new();
    for chunk in body.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let (k, v) = chunk
            .split_once('=')
            .ok_or_else(|| anyhow!("'{chunk}' is missing '=' (expected key=value, e.g. concurrency=4)"))?;
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            bail!("empty key in '{chunk}'");
        }
        let param = key(k).ok_or_else(|| {
            let names: Vec<&str> = Sweepable::ALL.iter().map(|p| p.key()).collect();
            anyhow!(
                "'{k}' is not a setting a variant can change: use one of {}",
                names.join(", ")
            )
        })?;
        if values.iter().any(|(p, _)| *p == param) {
            bail!("'{k}' is given twice");
        }
        values.push((param, value(param, k, v)?));
    }
    if values.is_empty() {
        bail!("no key=value pairs (e.g. 'small: isl=128')");
    }
    Ok(Scenario { name, values })
}

/// AIPerf refuses a name with a path separator or `..`, or only dots; a name with blanks or
/// control characters is refused too (a folder name in shell loops and Makefiles).
fn check_name(name: &str) -> anyhow::Result<()> {
    if name.contains(['/', '\\']) || name.contains("..") || name.chars().all(|c| c == '.') {
        bail!("name '{name}' is not path-safe (a '/', '\\', '..' or only dots): choose a name usable as a folder");
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("name '{name}' has a blank: use letters, digits, '-', '_' or '.' (it names the run's folder)");
    }
    Ok(())
}

/// A value as the setting takes it: a whole number or any finite number.
fn value(param: Sweepable, k: &str, v: &str) -> anyhow::Result<Value> {
    let v = v.trim_matches(|c| c == '"' || c == '\'');
    if param.is_integer() {
        v.parse::<u64>()
            .map(Value::from)
            .map_err(|_| anyhow!("{k}={v}: not a whole number (e.g. {k}=8)"))
    } else {
        v.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Value::from)
            .ok_or_else(|| anyhow!("{k}={v}: not a number (e.g. {k}=2.5)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Option<Sweepable> {
        let k = k.replace('-', "_");
        Sweepable::ALL.iter().copied().find(|p| p.key() == k)
    }

    fn err(raw: &[&str]) -> String {
        let raw: Vec<String> = raw.iter().map(|s| s.to_string()).collect();
        parse_all(&raw, key).unwrap_err().to_string()
    }

    #[test]
    fn names_default_to_v_index_and_values_keep_their_types() {
        let raw = vec![
            "small: isl=128, request-rate=5".to_string(),
            "concurrency=8".to_string(),
        ];
        let s = parse_all(&raw, key).unwrap();
        assert_eq!(s[0].name, "small");
        assert_eq!(
            s[0].values,
            [
                (Sweepable::Isl, Value::from(128u64)),
                (Sweepable::RequestRate, Value::from(5.0))
            ]
        );
        assert_eq!(s[1].name, "v1");
        assert_eq!(s[1].values, [(Sweepable::Concurrency, Value::from(8u64))]);
    }

    #[test]
    fn folder_names_drop_what_aiperf_drops() {
        let s = |n: &str| Scenario {
            name: n.into(),
            values: vec![],
        };
        assert_eq!(s("qps:100").dir_name(0), "qps100");
        assert_eq!(s("a<b>|c").dir_name(0), "abc");
        assert_eq!(s("***").dir_name(3), "variation_3");
        assert_eq!(s("aa-1k").dir_name(0), "aa-1k");
    }

    #[test]
    fn bad_variants_say_which_and_why() {
        assert!(err(&["a: isl=1"]).starts_with("--variant: a single variant"));
        let e = err(&["a: isl=1", "a: isl=2"]);
        assert!(
            e.starts_with("--variant 'a: isl=2': the name 'a' is used twice"),
            "{e}"
        );
        let e = err(&["a: isl=1", "b: streaming=true"]);
        assert!(
            e.contains("'streaming' is not a setting a variant can change"),
            "{e}"
        );
        assert!(err(&["a: isl=1", "b: isl"]).contains("'isl' is missing '='"));
        assert!(err(&["a: isl=1", "b: isl=1.5"]).contains("isl=1.5: not a whole number"));
        assert!(err(&["a: isl=1", "b: isl=1, isl=2"]).contains("'isl' is given twice"));
        assert!(err(&["a: isl=1", "../x: isl=2"]).contains("not path-safe"));
        assert!(err(&["a: isl=1", "b:"]).contains("no key=value pairs"));
        assert!(err(&["a: isl=1", "my run: isl=2"]).contains("has a blank"));
    }
}
