//! Where a `--tokenizer` comes from, offline: `builtin`, a `tokenizer.json` file, a model folder
//! holding one, or a Hugging Face model id found in the local hub cache
//! (`$HF_HUB_CACHE`, `$HUGGINGFACE_HUB_CACHE`, `$HF_HOME/hub`, `~/.cache/huggingface/hub`), laid
//! out as `models--ORG--NAME/{refs/REV, snapshots/COMMIT/}`. Nothing is ever downloaded: a model
//! that is not cached is an error saying where it looked and how to fetch it. loadgen and
//! sweep-plan both resolve through [`locate`], so both refuse a bad value with the same message.

use std::path::{Path, PathBuf};

use anyhow::bail;

/// Names of the tokenizer compiled in (tiktoken's o200k_base).
pub const BUILTIN: [&str; 2] = ["builtin", "o200k_base"];

/// The files a tokenizer spec resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    Builtin,
    Files {
        tokenizer_json: PathBuf,
        /// `tokenizer_config.json` beside it, when there is one (added tokens, chat template).
        config: Option<PathBuf>,
    },
}

/// Resolves `spec` (the `--tokenizer` value) with `revision` (`--tokenizer-revision`, default
/// `main`; only model ids have revisions). Every error names the flag and the fix in one line.
pub fn locate(spec: &str, revision: Option<&str>) -> anyhow::Result<Located> {
    locate_in(spec, revision, &cache_dirs(&|k| std::env::var(k).ok()))
}

/// [`locate`] against explicit hub cache folders (tests pass their own).
pub fn locate_in(spec: &str, revision: Option<&str>, caches: &[PathBuf]) -> anyhow::Result<Located> {
    if BUILTIN.contains(&spec) {
        return Ok(Located::Builtin);
    }
    let path = Path::new(spec);
    if path.exists() && !path.is_file() && !path.is_dir() {
        bail!("--tokenizer {spec}: is not a tokenizer.json, a model folder or a model id (it is a device, pipe or socket); give `builtin` (o200k_base), a tokenizer.json, a model folder, or a model id from the Hugging Face cache");
    }
    if path.is_file() {
        return Ok(files(path.to_path_buf(), path.parent().map(Path::to_path_buf)));
    }
    if path.is_dir() {
        return in_folder(spec, path);
    }
    if !looks_like_model_id(spec) {
        bail!("--tokenizer {spec}: no such file or folder; give `builtin` (o200k_base), a tokenizer.json, a model folder, or a model id from the Hugging Face cache");
    }
    let rev = revision.unwrap_or("main");
    let mut looked = Vec::new();
    for cache in caches {
        let repo = cache.join(format!("models--{}", spec.replace('/', "--")));
        looked.push(repo.display().to_string());
        if !repo.is_dir() {
            continue;
        }
        let Some(snapshot) = snapshot_dir(&repo, rev) else {
            bail!(
                "--tokenizer {spec}: cached in {}, but not at --tokenizer-revision {rev}; fetch it with `huggingface-cli download {spec} tokenizer.json tokenizer_config.json --revision {rev}` (sweepkit never downloads)",
                repo.display()
            );
        };
        return in_folder(spec, &snapshot);
    }
    let looked = if looked.is_empty() {
        "no Hugging Face cache folder".to_string()
    } else {
        looked.join(", ")
    };
    bail!("--tokenizer {spec}: no such file or folder, and not in the Hugging Face cache (looked in {looked}); fetch it with `huggingface-cli download {spec} tokenizer.json tokenizer_config.json` (sweepkit never downloads), or use --tokenizer builtin")
}

/// A folder's `tokenizer.json` (and `tokenizer_config.json`), or why it cannot be used.
fn in_folder(spec: &str, dir: &Path) -> anyhow::Result<Located> {
    let json = dir.join("tokenizer.json");
    if json.is_file() {
        let config = dir.join("tokenizer_config.json");
        return Ok(Located::Files {
            tokenizer_json: json,
            config: config.is_file().then_some(config),
        });
    }
    let has = |name: &str| dir.join(name).exists();
    let why = if has("tokenizer.model") || has("vocab.txt") || has("vocab.json") {
        "it has only slow-tokenizer files (tokenizer.model / vocab.*)"
    } else if has("tokenizer_config.json") {
        "it has a tokenizer_config.json but no tokenizer.json (a custom tokenizer class: sweepkit runs no tokenizer code, even with --tokenizer-trust-remote-code)"
    } else {
        "it is not a model folder"
    };
    bail!("--tokenizer {spec}: no tokenizer.json in {} ({why}); save one with transformers (`AutoTokenizer.from_pretrained(path).save_pretrained(path)`) or use --tokenizer builtin", dir.display())
}

fn files(tokenizer_json: PathBuf, dir: Option<PathBuf>) -> Located {
    let config = dir
        .map(|d| d.join("tokenizer_config.json"))
        .filter(|c| c.is_file());
    Located::Files {
        tokenizer_json,
        config,
    }
}

/// `snapshots/<commit>` for a revision: a ref name (`refs/<rev>` holds the commit) or a commit.
fn snapshot_dir(repo: &Path, rev: &str) -> Option<PathBuf> {
    let snapshots = repo.join("snapshots");
    if let Ok(commit) = std::fs::read_to_string(repo.join("refs").join(rev)) {
        let dir = snapshots.join(commit.trim());
        if dir.is_dir() {
            return Some(dir);
        }
    }
    let dir = snapshots.join(rev);
    (!rev.is_empty() && !rev.contains("..") && dir.is_dir()).then_some(dir)
}

/// `NAME` or `ORG/NAME` as the Hub spells repo ids: letters, digits, `-`, `_`, `.`.
fn looks_like_model_id(s: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && !p.starts_with('.')
            && !p.contains("..")
            && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    match s.split_once('/') {
        Some((org, name)) => part(org) && part(name),
        None => part(s),
    }
}

/// The hub cache folders to search, first match wins, as `huggingface_hub` resolves them.
pub fn cache_dirs(env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let set = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let mut out = Vec::new();
    if let Some(d) = set("HF_HUB_CACHE").or_else(|| set("HUGGINGFACE_HUB_CACHE")) {
        out.push(d);
    }
    let home = set("HF_HOME")
        .or_else(|| set("XDG_CACHE_HOME").map(|x| x.join("huggingface")))
        .or_else(|| set("HOME").map(|h| h.join(".cache").join("huggingface")));
    if let Some(h) = home {
        let hub = h.join("hub");
        if !out.contains(&hub) {
            out.push(hub);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, text: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn files_folders_and_cached_ids_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(locate_in("builtin", None, &[]).unwrap(), Located::Builtin);
        write(&d.join("m/tokenizer.json"), "{}");
        write(&d.join("m/tokenizer_config.json"), "{}");
        let both = Located::Files {
            tokenizer_json: d.join("m/tokenizer.json"),
            config: Some(d.join("m/tokenizer_config.json")),
        };
        assert_eq!(locate_in(d.join("m").to_str().unwrap(), None, &[]).unwrap(), both);
        assert_eq!(
            locate_in(d.join("m/tokenizer.json").to_str().unwrap(), None, &[]).unwrap(),
            both
        );
        let hub = d.join("hub");
        let repo = hub.join("models--org--tiny");
        write(&repo.join("refs/main"), "abc123\n");
        write(&repo.join("snapshots/abc123/tokenizer.json"), "{}");
        write(&repo.join("snapshots/def456/tokenizer.json"), "{}");
        let at = |c: &str| Located::Files {
            tokenizer_json: repo.join(format!("snapshots/{c}/tokenizer.json")),
            config: None,
        };
        let caches = [d.join("empty"), hub.clone()];
        assert_eq!(locate_in("org/tiny", None, &caches).unwrap(), at("abc123"));
        assert_eq!(
            locate_in("org/tiny", Some("def456"), &caches).unwrap(),
            at("def456")
        );
        let e = locate_in("org/tiny", Some("v2"), &caches)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not at --tokenizer-revision v2") && e.contains("huggingface-cli download"));
    }

    #[test]
    fn every_miss_is_one_line_naming_the_flag_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("empty")).unwrap();
        write(&d.join("slow/tokenizer.model"), "x");
        let cases = [
            (
                locate_in("org/absent", None, &[d.join("hub")]),
                "not in the Hugging Face cache",
            ),
            (
                locate_in("/no/such/file.json", None, &[]),
                "no such file or folder",
            ),
            (
                locate_in(d.join("empty").to_str().unwrap(), None, &[]),
                "no tokenizer.json",
            ),
            (
                locate_in(d.join("slow").to_str().unwrap(), None, &[]),
                "slow-tokenizer files",
            ),
        ];
        for (r, want) in cases {
            let e = r.unwrap_err().to_string();
            assert!(e.starts_with("--tokenizer ") && e.contains(want), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let e = locate_in("org/absent", None, &[d.join("hub")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&d.join("hub/models--org--absent").display().to_string()),
            "{e}"
        );
    }

    #[test]
    fn cache_folders_follow_huggingface_hub() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(
            cache_dirs(&env(&[("HOME", "/h")])),
            vec![PathBuf::from("/h/.cache/huggingface/hub")]
        );
        assert_eq!(
            cache_dirs(&env(&[("HF_HOME", "/hf"), ("HUGGINGFACE_HUB_CACHE", "/old")])),
            vec![PathBuf::from("/old"), PathBuf::from("/hf/hub")]
        );
        assert_eq!(
            cache_dirs(&env(&[("HF_HUB_CACHE", "/new"), ("XDG_CACHE_HOME", "/x")])),
            vec![PathBuf::from("/new"), PathBuf::from("/x/huggingface/hub")]
        );
    }
}
