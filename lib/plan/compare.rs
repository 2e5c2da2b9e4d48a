//! Whether a plan is the one a sweep was run with: `--resume` keeps earlier runs only when their
//! plan lines are unchanged, and a refusal must name the first setting that differs.

use serde_json::Value;

use crate::contract::plan_line::PlanLine;

/// The first difference between the saved plan and the new one, in words (`None`: the same).
pub fn first_difference(saved: &[PlanLine], new: &[PlanLine]) -> Option<String> {
    for (i, (a, b)) in saved.iter().zip(new).enumerate() {
        if a == b {
            continue;
        }
        let (va, vb) = (serde_json::to_value(a).ok()?, serde_json::to_value(b).ok()?);
        let what = first_path(&va, &vb, "").unwrap_or_else(|| "the line".into());
        let label = b.place.variation_label.as_deref().unwrap_or("base");
        let trial = b.place.trial_label.as_deref().unwrap_or("");
        return Some(format!("run {} ({label} {trial}): {what}", i + 1));
    }
    (saved.len() != new.len())
        .then(|| format!("the saved plan has {} runs, this one {}", saved.len(), new.len()))
}

/// The first differing path of two JSON documents below `at`: `loadgen.osl: 32 → 64`, `seed: 42 → 7`,
/// `loadgen.osl: absent → 64` (compare names a differing workload setting with it too).
pub fn first_path(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => first_path(p, q, &path),
                    (p, q) => Some(format!("{path}: {} → {}", shown(p), shown(q))),
                }
            })
        }
        _ if a == b => None,
        _ => Some(format!("{at}: {a} → {b}")),
    }
}

fn shown(v: Option<&Value>) -> String {
    v.map(Value::to_string).unwrap_or_else(|| "absent".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::plan_line;

    #[test]
    fn names_the_first_differing_setting() {
        let a = plan_line::parse(r#"{"trial":1,"trial_label":"trial_0001","variation_label":"concurrency_2","loadgen":{"model":"m","osl":32}}"#).unwrap();
        let one = std::slice::from_ref(&a);
        let mut b = a.clone();
        assert_eq!(first_difference(one, std::slice::from_ref(&b)), None);
        b.loadgen.osl = Some(64);
        assert_eq!(
            first_difference(one, std::slice::from_ref(&b)).unwrap(),
            "run 1 (concurrency_2 trial_0001): loadgen.osl: 32 → 64"
        );
        b.loadgen.osl = None;
        assert!(first_difference(one, &[b])
            .unwrap()
            .ends_with("loadgen.osl: 32 → absent"));
        assert!(first_difference(one, &[a.clone(), a.clone()])
            .unwrap()
            .contains("has 1 runs, this one 2"));
    }
}
