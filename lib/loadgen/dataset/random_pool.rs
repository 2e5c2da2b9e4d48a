//! `--custom-dataset-type random_pool`: AIPerf 0.13's random pool (`loader/random_pool.py`). The
//! `--input-file` is one pool (a file), or a folder whose files are pools (in name order). Each
//! line is an entry: `{"text": "..."}` or `{"texts": ["...", ...]}` (or AIPerf's named
//! `{"texts": [{"name", "contents": [...]}]}`). The dataset is `--num-prompts` requests (default
//! 100); request i takes, from every pool, the entry AIPerf's `choices(pool, k)` draws (with
//! replacement, on its `dataset.loader.random_pool` stream: the same entries as AIPerf for the
//! same seed), and sends their texts together, in pool order, joined by spaces. The run then
//! walks these requests by `--dataset-sampling-strategy` (default `shuffle`, AIPerf's).

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use serde::Deserialize;
use serde_json::Value;

use crate::io::jsonl;
use crate::io::tokenizer::Tokenizer;
use crate::loadgen::dataset::prompts::Prompt;
use crate::loadgen::options::Options;
use crate::loadgen::py_random::PyRandom;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    texts: Option<Vec<TextItem>>,
    #[serde(default)]
    image: Option<Value>,
    #[serde(default)]
    images: Option<Value>,
    #[serde(default)]
    audio: Option<Value>,
    #[serde(default)]
    audios: Option<Value>,
    #[serde(default)]
    video: Option<Value>,
    #[serde(default)]
    videos: Option<Value>,
}

/// A `texts` item: a string, or AIPerf's named `{"name", "contents"}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum TextItem {
    Plain(String),
    Named {
        #[serde(default)]
        #[allow(dead_code)]
        name: Option<String>,
        contents: Vec<String>,
    },
}

/// A loaded pool set: the requests and what was skipped (torn last lines).
pub struct Loaded {
    pub prompts: Vec<Prompt>,
    pub warnings: Vec<String>,
}

/// Reads the pools and draws `--num-prompts` requests from them.
pub fn load(path: &Path, opts: &Options, tok: &Tokenizer) -> anyhow::Result<Loaded> {
    let files = pool_files(path)?;
    let mut pools = Vec::with_capacity(files.len());
    let mut warnings = Vec::new();
    for f in &files {
        let (pool, w) = read_pool(f)?;
        warnings.extend(w);
        pools.push(pool);
    }
    let n = opts.num_prompts as usize;
    let mut rng = PyRandom::derived(opts.random_seed, "dataset.loader.random_pool");
    // AIPerf draws all of pool 0's samples, then pool 1's, ...; request i merges sample i of each.
    let draws: Vec<Vec<usize>> = pools
        .iter()
        .map(|p| (0..n).map(|_| (rng.random() * p.len() as f64) as usize).collect())
        .collect();
    let spec = crate::loadgen::wire::BodySpec::of(opts);
    let prompts = (0..n)
        .map(|i| {
            let texts: Vec<&str> = pools
                .iter()
                .zip(&draws)
                .flat_map(|(pool, d)| pool[d[i]].iter().map(String::as_str))
                .collect();
            let text = texts.join(" ");
            let isl = tok.count(&text);
            let content = super::content::UserContent::text(text);
            Prompt::new(&spec, i, (&content, &[]), isl, opts.osl, None)
        })
        .collect();
    Ok(Loaded { prompts, warnings })
}

/// The pool files: the file itself, or a folder's files in name order (AIPerf's `sorted(iterdir())`).
fn pool_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| anyhow!("--input-file {}: cannot read the folder: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        anyhow::bail!(
            "--input-file {}: a random_pool folder needs at least one pool file (JSONL)",
            path.display()
        );
    }
    Ok(files)
}

/// One pool: each entry's texts.
fn read_pool(path: &Path) -> anyhow::Result<(Vec<Vec<String>>, Vec<String>)> {
    let input = jsonl::Input::open(path).map_err(|e| anyhow!("--input-file: {e}"))?;
    let mut pool = Vec::new();
    let stats = jsonl::for_each_line(vec![input], |_, raw| {
        pool.push(entry_texts(raw)?);
        Ok(())
    })?;
    if pool.is_empty() {
        anyhow::bail!(
            "--input-file {}: no entries in this random_pool file",
            path.display()
        );
    }
    let warnings = stats
        .warnings()
        .into_iter()
        .map(|w| format!("--input-file {w}"))
        .collect();
    Ok((pool, warnings))
}

/// An entry's texts; errors are the message after `file:line:`.
fn entry_texts(raw: &str) -> Result<Vec<String>, String> {
    let e: Entry = serde_json::from_str(raw).map_err(|e| format!("not a random_pool line: {e}"))?;
    if e.kind.as_deref().is_some_and(|k| k != "random_pool") {
        return Err(format!(
            "type {:?}: a random_pool file's lines are random_pool entries",
            e.kind.unwrap_or_default()
        ));
    }
    let media = [&e.image, &e.images, &e.audio, &e.audios, &e.video, &e.videos];
    if media.iter().any(|m| m.is_some()) {
        return Err("image/audio/video entries are not supported in a random_pool yet (sweepkit sends text): give text or texts".into());
    }
    match (e.text, e.texts) {
        (Some(t), None) => Ok(vec![t]),
        (None, Some(items)) if !items.is_empty() => Ok(items
            .into_iter()
            .flat_map(|i| match i {
                TextItem::Plain(s) => vec![s],
                TextItem::Named { contents, .. } => contents,
            })
            .collect()),
        (Some(_), Some(_)) => Err("text and texts cannot be set together".into()),
        _ => Err("a random_pool entry needs text or texts".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_as_aiperf_reads_them() {
        assert_eq!(entry_texts(r#"{"text":"a"}"#).unwrap(), ["a"]);
        assert_eq!(
            entry_texts(r#"{"texts":[{"name":"q","contents":["x","y"]}]}"#).unwrap(),
            ["x", "y"]
        );
        assert_eq!(
            entry_texts(r#"{"type":"random_pool","texts":["p","q"]}"#).unwrap(),
            ["p", "q"]
        );
        assert!(entry_texts(r#"{"text":"a","texts":["b"]}"#)
            .unwrap_err()
            .contains("together"));
        assert!(entry_texts(r#"{"image":"x.png"}"#).unwrap_err().contains("image"));
        assert!(entry_texts(r#"{}"#).unwrap_err().contains("text or texts"));
    }
}
