//! Parameter values as folder names and text, both ways: `concurrency_10__isl_512` ⇄
//! `[("concurrency", 10), ("isl", 512)]`, `5.0` as Python prints it, `concurrency=10, isl=512`.

use std::cmp::Ordering;
use std::path::Path;

use serde_json::{Map, Value};

/// A value as it appears in folder names: integers bare, floats as Python prints them (`5.0`).
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => format!("{:?}", n.as_f64().unwrap_or(f64::NAN)),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Folder name of a combination: `concurrency_10`, `concurrency_10__isl_512` (AIPerf's `dir_name`).
pub fn dir_name(params: &[(String, Value)]) -> String {
    let joined = params
        .iter()
        .map(|(k, v)| format!("{k}_{}", value_text(v)))
        .collect::<Vec<_>>()
        .join("__");
    path_safe(&joined)
}

/// Makes a name safe as one path component (AIPerf replaces `/` in model names with `_`).
pub fn path_safe(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*')
                || c.is_control()
                || c.is_whitespace()
            {
                '_'
            } else {
                c
            }
        })
        .collect();
    while out.contains("..") {
        out = out.replace("..", "_");
    }
    out
}

/// Splits a folder name like `concurrency_10__isl_512` into parameters; `None` if it is not one
/// (a trial's `trial_0001` / `run_0001`, a search iteration's `search_iter_0003`).
pub fn parse_dir_name(name: &str) -> Option<Vec<(String, Value)>> {
    if name.starts_with("trial_") || name.starts_with("run_") || name.starts_with("search_iter_") {
        return None;
    }
    let mut out = Vec::new();
    for part in name.split("__") {
        let (k, v) = part.rsplit_once('_')?;
        if k.is_empty() {
            return None;
        }
        let val = if let Ok(n) = v.parse::<u64>() {
            Value::from(n)
        } else {
            let x: f64 = v.parse().ok().filter(|x: &f64| x.is_finite())?;
            Value::from(x)
        };
        out.push((k.to_string(), val));
    }
    Some(out)
}

/// The trial number of a `trial_0003` / `run_0003` folder.
pub fn trial_number(name: &str) -> Option<u32> {
    let digits = name
        .strip_prefix("trial_")
        .or_else(|| name.strip_prefix("run_"))?;
    (digits.len() == 4).then(|| digits.parse().ok()).flatten()
}

/// Orders parameter lists by their values (numerically where both are numbers): the natural sweep order.
pub fn cmp_param_list(a: &[(String, Value)], b: &[(String, Value)]) -> Ordering {
    for ((_, x), (_, y)) in a.iter().zip(b) {
        let o = match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => x.to_string().cmp(&y.to_string()),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// `concurrency=10, isl=512` (AIPerf's ParameterCombination text; `base` without parameters).
pub fn describe(params: &[(String, Value)]) -> String {
    if params.is_empty() {
        return "base".into();
    }
    let mut p: Vec<&(String, Value)> = params.iter().collect();
    p.sort_by(|a, b| a.0.cmp(&b.0));
    p.iter()
        .map(|(k, v)| format!("{k}={}", value_text(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// AIPerf names swept values by dotted path (`loadgen.concurrency`): the parameter is the last segment.
pub fn short_names(values: &Map<String, Value>) -> Vec<(String, Value)> {
    values
        .iter()
        .map(|(k, v)| (k.rsplit('.').next().unwrap_or(k).to_string(), v.clone()))
        .collect()
}

/// The parameters of a file below a sweep's folder `root`: its deepest folder named like a
/// combination (`concurrency_10__isl_512`), or none.
pub fn params_from_path(root: &Path, file: &Path) -> Vec<(String, Value)> {
    file.strip_prefix(root)
        .unwrap_or(file)
        .components()
        .filter_map(|c| parse_dir_name(&c.as_os_str().to_string_lossy()))
        .next_back()
        .unwrap_or_default()
}

/// [`describe`] for a parameters map.
pub fn describe_map(params: &Map<String, Value>) -> String {
    describe(
        &params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>(),
    )
}

/// A number as findings and folder notes show it: one decimal from 100 up, else two.
pub fn num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_parse_back_into_parameters() {
        assert_eq!(
            parse_dir_name("concurrency_10"),
            Some(vec![("concurrency".into(), Value::from(10u64))])
        );
        assert_eq!(
            parse_dir_name("request_rate_5.0__isl_512"),
            Some(vec![
                ("request_rate".into(), Value::from(5.0)),
                ("isl".into(), Value::from(512u64))
            ])
        );
        assert_eq!(parse_dir_name("trial_0001"), None);
        assert_eq!(parse_dir_name("profile_runs"), None);
        assert_eq!(parse_dir_name("sweep_aggregate"), None);
        assert_eq!(parse_dir_name("search_iter_0003"), None);
        assert_eq!(trial_number("trial_0003"), Some(3));
        assert_eq!(trial_number("run_0012"), Some(12));
        assert_eq!(
            describe(&[
                ("request_rate".into(), Value::from(20u64)),
                ("concurrency".into(), Value::from(10u64))
            ]),
            "concurrency=10, request_rate=20"
        );
        let p = vec![("request_rate".to_string(), Value::from(5.0))];
        assert_eq!(parse_dir_name(&dir_name(&p)), Some(p));
    }
}
