//! Whether two configurations ran the same workload. A server comparison is only fair when the
//! client asked for the same thing: the same endpoint, prompts, output lengths, dataset and load
//! shape. The settings are read from each folder's `input_config` (sweepkit's and AIPerf's share the
//! shape), named flatly so `--allow-different isl` reads naturally, and compared with the plan
//! comparison `sweep-plan --same-as` uses, which names the first differing setting.

use serde_json::{Map, Value};

use crate::plan::compare::first_path;

/// The settings that define a workload, by the name `--allow-different` takes.
pub const SETTINGS: [&str; 15] = [
    "endpoint_type",
    "streaming",
    "model",
    "extra_inputs",
    "dataset_type",
    "dataset_file",
    "isl",
    "osl",
    "prefix_prompts",
    "turns",
    "random_seed",
    "load_type",
    "arrival_pattern",
    "cancellation",
    "tokenizer",
];

/// Numbers as f64 (AIPerf writes 550.0 where sweepkit writes 550), recursively.
fn normalized(v: &Value) -> Value {
    match v {
        Value::Number(n) => n.as_f64().map_or(Value::Null, |f| serde_json::json!(f)),
        Value::Array(a) => Value::Array(a.iter().map(normalized).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), normalized(v))).collect()),
        other => other.clone(),
    }
}

/// A length distribution with its stddev made explicit (AIPerf leaves out a stddev of 0 in places).
fn length(v: Option<&Value>) -> Option<Value> {
    let mut v = v?.clone();
    if let Some(o) = v.as_object_mut() {
        o.entry("stddev").or_insert(Value::from(0.0));
    }
    Some(v)
}

/// The workload settings of an `input_config` (absent ones left out).
pub fn settings(input_config: &Value) -> Map<String, Value> {
    let c = input_config;
    let dataset = c.pointer("/datasets/0").cloned().unwrap_or(Value::Null);
    let profiling = c["phases"]
        .as_array()
        .and_then(|ps| {
            ps.iter()
                .find(|p| p["kind"] == "profiling" || p["name"] == "profiling")
        })
        .cloned()
        .unwrap_or(Value::Null);
    let models: Vec<Value> = c
        .pointer("/models/items")
        .and_then(Value::as_array)
        .map(|items| items.iter().map(|m| m["name"].clone()).collect())
        .unwrap_or_default();
    let file_name = dataset["path"]
        .as_str()
        .and_then(|p| std::path::Path::new(p).file_name())
        .map(|n| Value::from(n.to_string_lossy().into_owned()));
    // sweepkit writes `extra_inputs`, AIPerf `extra`.
    let extra = c
        .pointer("/endpoint/extra_inputs")
        .or_else(|| c.pointer("/endpoint/extra"));
    let candidates: [(&str, Option<Value>); 15] = [
        ("endpoint_type", c.pointer("/endpoint/type").cloned()),
        ("streaming", c.pointer("/endpoint/streaming").cloned()),
        ("model", (!models.is_empty()).then_some(Value::Array(models))),
        ("extra_inputs", extra.cloned()),
        ("dataset_type", dataset.get("type").cloned()),
        ("dataset_file", file_name),
        ("isl", length(dataset.pointer("/prompts/isl"))),
        ("osl", length(dataset.pointer("/prompts/osl"))),
        ("prefix_prompts", dataset.get("prefix_prompts").cloned()),
        ("turns", dataset.get("turns").cloned()),
        ("random_seed", dataset.get("random_seed").cloned()),
        ("load_type", profiling.get("type").cloned()),
        ("arrival_pattern", profiling.get("arrival_pattern").cloned()),
        ("cancellation", profiling.get("cancellation").cloned()),
        ("tokenizer", c.pointer("/tokenizer/name").cloned()),
    ];
    candidates
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), normalized(&v?))).filter(|(_, v)| !v.is_null()))
        .collect()
}

/// Settings that change the prompts but not their distribution: a difference is reported, not refused.
pub const INFORMATIONAL: [&str; 1] = ["random_seed"];

/// The informational settings that differ, in words (`random_seed: 0.0 → 42.0`).
pub fn notes(base: &Map<String, Value>, new: &Map<String, Value>) -> Vec<String> {
    INFORMATIONAL
        .iter()
        .filter_map(|s| match (base.get(*s), new.get(*s)) {
            (Some(a), Some(b)) if a != b => Some(format!("{s}: {a} → {b}")),
            _ => None,
        })
        .collect()
}

/// The first setting (in [`SETTINGS`] order) in which `new` differs from `base`, skipping
/// `allowed` and the [`INFORMATIONAL`] ones; `None` when they agree. A setting only one side records is not held against it
/// (older files lack some), except the ones every summary has.
pub fn first_difference(
    base: &Map<String, Value>,
    new: &Map<String, Value>,
    allowed: &[String],
) -> Option<String> {
    const ALWAYS: [&str; 3] = ["endpoint_type", "isl", "osl"];
    SETTINGS
        .iter()
        .filter(|s| !allowed.iter().any(|a| a == *s) && !INFORMATIONAL.contains(s))
        .find_map(|s| match (base.get(*s), new.get(*s)) {
            (Some(a), Some(b)) => {
                let one = |v: &Value| Value::Object(Map::from_iter([(s.to_string(), v.clone())]));
                first_path(&one(a), &one(b), "")
            }
            (a, b) if ALWAYS.contains(s) && a != b => {
                let shown = |v: Option<&Value>| v.map_or("absent".into(), Value::to_string);
                Some(format!("{s}: {} → {}", shown(a), shown(b)))
            }
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg(isl: f64, seed: u64) -> Value {
        json!({
            "models": {"items": [{"name": "m"}]},
            "endpoint": {"type": "chat", "streaming": true, "urls": ["http://a"]},
            "datasets": [{"name": "main", "type": "synthetic", "random_seed": seed,
                          "prompts": {"isl": {"mean": isl, "stddev": 0.0}, "osl": {"mean": 32, "stddev": 0}}}],
            "phases": [{"name": "profiling", "kind": "profiling", "type": "concurrency", "concurrency": 4}],
            "tokenizer": {"name": "builtin"}
        })
    }

    #[test]
    fn names_the_first_differing_setting_and_honours_allow_different() {
        let (a, b) = (settings(&cfg(550.0, 42)), settings(&cfg(100.0, 7)));
        assert_eq!(first_difference(&a, &a, &[]), None);
        assert_eq!(first_difference(&a, &b, &[]).unwrap(), "isl.mean: 550.0 → 100.0");
        // Another seed draws other prompts from the same distribution: said, not refused.
        assert_eq!(first_difference(&a, &b, &["isl".into()]), None);
        assert_eq!(notes(&a, &b), vec!["random_seed: 42.0 → 7.0".to_string()]);
    }

    #[test]
    fn urls_and_load_values_do_not_count_and_integers_equal_floats() {
        let mut other = cfg(550.0, 42);
        other["endpoint"]["urls"] = json!(["http://b"]);
        other["phases"][0]["concurrency"] = json!(16);
        other["datasets"][0]["prompts"]["osl"]["mean"] = json!(32.0);
        assert_eq!(
            first_difference(&settings(&cfg(550.0, 42)), &settings(&other), &[]),
            None
        );
    }
}
