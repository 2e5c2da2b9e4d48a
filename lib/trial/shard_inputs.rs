//! A sharded run's `inputs.json`: each shard writes its own (`shards/shard_I/inputs.json`, its
//! dealt share of the dataset); readers of AIPerf's layout look for one `<run>/inputs.json`, so
//! the shards' entries are joined into it, in shard order. The shards' session ids are distinct by
//! construction (the dataset is dealt, not copied); a repeat means a file given twice and is refused.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use serde_json::Value;

/// Joins the `data` entries of `shards` (AIPerf's `{"data":[…]}`, in the order given) into `out`,
/// written atomically in AIPerf's layout; returns the number of entries.
pub fn merge(shards: &[PathBuf], out: &Path) -> anyhow::Result<usize> {
    if shards.is_empty() {
        bail!("--merge-inputs: give the shards' inputs.json files (loadgen --inputs-out), in shard order");
    }
    let mut entries = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, path) in shards.iter().enumerate() {
        for entry in read_data(path)? {
            if let Some(id) = entry.get("session_id").and_then(Value::as_str) {
                if let Some(&first) = seen.get(id) {
                    bail!(
                        "--merge-inputs: session_id {id} is in {} and in {}: the shards of one run deal disjoint entries; give each shard's inputs.json once",
                        shards[first].display(),
                        path.display()
                    );
                }
                seen.insert(id.to_string(), i);
            }
            entries.push(entry);
        }
    }
    let n = entries.len();
    crate::contract::inputs::write(out, |w| {
        for e in &entries {
            w.entry_value(e)?;
        }
        Ok(())
    })?;
    Ok(n)
}

/// The `data` entries of one `inputs.json`.
fn read_data(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text = crate::io::capped::read_to_string(path)
        .map_err(|e| anyhow!("--merge-inputs: {}: cannot read: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow!("--merge-inputs: {}: not valid JSON: {e}", path.display()))?;
    match doc {
        Value::Object(mut m) => match m.remove("data") {
            Some(Value::Array(data)) => Ok(data),
            _ => bail!(
                "--merge-inputs: {}: no \"data\" list: not an inputs.json (loadgen --inputs-out writes one)",
                path.display()
            ),
        },
        _ => bail!(
            "--merge-inputs: {}: not a JSON object: not an inputs.json (loadgen --inputs-out writes one)",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, ids: &[&str]) -> PathBuf {
        let entries: Vec<Value> = ids
            .iter()
            .map(|id| serde_json::json!({"session_id": id, "payloads": [{"messages": []}]}))
            .collect();
        let p = dir.join(name);
        std::fs::write(&p, serde_json::json!({ "data": entries }).to_string()).unwrap();
        p
    }

    #[test]
    fn entries_are_joined_in_shard_order_and_a_repeat_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.json", &["s1", "s3"]);
        let b = write(dir.path(), "b.json", &["s2"]);
        let out = dir.path().join("run/inputs.json");
        assert_eq!(merge(&[a.clone(), b], &out).unwrap(), 3);
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let ids: Vec<&str> = doc["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["session_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["s1", "s3", "s2"]);
        let e = merge(&[a.clone(), a], &out).unwrap_err().to_string();
        assert!(e.contains("session_id s1 is in") && e.contains("a.json"), "{e}");
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "[]").unwrap();
        assert!(merge(&[bad], &out)
            .unwrap_err()
            .to_string()
            .contains("not an inputs.json"));
    }
}
