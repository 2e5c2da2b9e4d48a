//! `--tokenizer` end to end, offline: a model folder and a model id in a fake Hugging Face cache
//! (built here from the committed test tokenizers) drive loadgen against mock-llm; prompts are
//! exactly `--isl` tokens under each model type; misses are one-line errors, the same in loadgen
//! and sweep-plan.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sweepkit::io::tokenizer::Tokenizer;

use crate::common::{bin, repo_root, MockServer};

const MODEL_TYPES: [&str; 5] = [
    "bpe_bytelevel",
    "bpe_metaspace",
    "unigram",
    "wordpiece",
    "wordlevel",
];

fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/tokenizers").join(name)
}

/// Runs a tool with the Hugging Face cache at `hf_home/hub` only.
fn tool(name: &str, args: &[&str], hf_home: &Path) -> Output {
    Command::new(bin(name))
        .args(args)
        .env_remove("HF_HUB_CACHE")
        .env_remove("HUGGINGFACE_HUB_CACHE")
        .env("HF_HOME", hf_home)
        .output()
        .expect("run tool")
}

/// `hub/models--acme--tiny-llama/` with `refs/main` → `c0ffee` (the SentencePiece-style BPE) and
/// a second snapshot `beef` (the WordPiece one), as `huggingface-cli download` leaves them.
fn fake_cache(root: &Path) {
    let repo = root.join("hub/models--acme--tiny-llama");
    for (commit, model) in [("c0ffee", "bpe_metaspace"), ("beef", "wordpiece")] {
        let snap = repo.join("snapshots").join(commit);
        std::fs::create_dir_all(&snap).unwrap();
        for f in ["tokenizer.json", "tokenizer_config.json"] {
            std::fs::copy(fixture(model).join(f), snap.join(f)).unwrap();
        }
    }
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "c0ffee").unwrap();
}

fn first_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Runs loadgen and returns (records, inputs.json, run info, stderr).
fn run(
    mock: &MockServer,
    tokenizer: &[&str],
    hf_home: &Path,
    dir: &Path,
) -> (Vec<Value>, Value, Value, String) {
    let inputs = dir.join("inputs.json");
    let info = dir.join("run_info.json");
    let mut args = vec![
        "--url",
        &mock.addr,
        "-m",
        "m",
        "--streaming",
        "--isl",
        "37",
        "--isl-stddev",
        "5",
        "--osl",
        "3",
        "--num-prompts",
        "4",
        "--random-seed",
        "7",
        "--ui",
        "none",
        "--inputs-out",
        inputs.to_str().unwrap(),
        "--run-info-out",
        info.to_str().unwrap(),
    ];
    args.extend_from_slice(tokenizer);
    let out = tool("loadgen", &args, hf_home);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "loadgen {tokenizer:?}: {err}");
    let recs = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let read = |p: &Path| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    (recs, read(&inputs), read(&info), err)
}

/// Every prompt of inputs.json counts its record's ISL under `tok`, and no record failed.
fn check_isl(recs: &[Value], inputs: &Value, tok: &Tokenizer, what: &str) {
    assert_eq!(recs.len(), 4, "{what}");
    for r in recs {
        assert!(r["error"].is_null(), "{what}: {r}");
        let conv = r["metadata"]["conversation_id"].as_str().unwrap();
        let entry = inputs["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["session_id"] == conv)
            .unwrap();
        let text = entry["payloads"][0]["messages"][0]["content"].as_str().unwrap();
        let isl = r["metrics"]["input_sequence_length"]["value"].as_f64().unwrap() as u64;
        assert_eq!(tok.count(text), isl, "{what}: {text:?}");
        assert!((20..=55).contains(&isl), "{what}: isl {isl} from --isl 37 ± 5");
    }
}

#[test]
fn model_folders_of_every_type_make_exact_prompts_end_to_end() {
    let mock = MockServer::start(&["--ttft-ms", "0", "--itl-ms", "0"]);
    let home = tempfile::tempdir().unwrap();
    for name in MODEL_TYPES {
        let dir = tempfile::tempdir().unwrap();
        let folder = fixture(name);
        let (recs, inputs, info, _) = run(
            &mock,
            &["--tokenizer", folder.to_str().unwrap()],
            home.path(),
            dir.path(),
        );
        let tok = Tokenizer::load(folder.to_str().unwrap()).unwrap();
        check_isl(&recs, &inputs, &tok, name);
        assert_eq!(
            info["input_config"]["tokenizer"]["path"].as_str().unwrap(),
            folder.join("tokenizer.json").to_str().unwrap()
        );
        // The same seed gives byte-identical prompts under this tokenizer too.
        let again = tempfile::tempdir().unwrap();
        run(
            &mock,
            &["--tokenizer", folder.to_str().unwrap()],
            home.path(),
            again.path(),
        );
        let bytes = |d: &Path| std::fs::read(d.join("inputs.json")).unwrap();
        assert_eq!(bytes(dir.path()), bytes(again.path()), "{name}");
    }
}

#[test]
fn a_cached_model_id_works_offline_at_its_revision() {
    let mock = MockServer::start(&["--ttft-ms", "0", "--itl-ms", "0"]);
    let home = tempfile::tempdir().unwrap();
    fake_cache(home.path());
    let snap = |c: &str| home.path().join("hub/models--acme--tiny-llama/snapshots").join(c);

    let dir = tempfile::tempdir().unwrap();
    let (recs, inputs, info, err) = run(
        &mock,
        &["--tokenizer", "acme/tiny-llama", "--tokenizer-trust-remote-code"],
        home.path(),
        dir.path(),
    );
    let tok = Tokenizer::load(snap("c0ffee").to_str().unwrap()).unwrap();
    check_isl(&recs, &inputs, &tok, "refs/main");
    let t = &info["input_config"]["tokenizer"];
    assert_eq!(t["name"], "acme/tiny-llama");
    assert_eq!(t["trust_remote_code"], true);
    assert_eq!(
        t["path"].as_str().unwrap(),
        snap("c0ffee").join("tokenizer.json").to_str().unwrap()
    );
    assert!(
        err.contains("--tokenizer-trust-remote-code") && err.contains("no tokenizer code"),
        "{err}"
    );

    // A commit as the revision.
    let (recs, inputs, info, _) = run(
        &mock,
        &["--tokenizer", "acme/tiny-llama", "--tokenizer-revision", "beef"],
        home.path(),
        dir.path(),
    );
    let tok = Tokenizer::load(snap("beef").to_str().unwrap()).unwrap();
    check_isl(&recs, &inputs, &tok, "revision beef");
    assert_eq!(info["input_config"]["tokenizer"]["revision"], "beef");
}

#[test]
fn tokenizer_misses_are_one_line_and_the_same_in_loadgen_and_sweep_plan() {
    let home = tempfile::tempdir().unwrap();
    fake_cache(home.path());
    let empty = tempfile::tempdir().unwrap();
    let corrupt = empty.path().join("corrupt.json");
    std::fs::write(&corrupt, "{\"model\": {\"type\": \"BPE\", \"vocab\": ").unwrap();
    let cases: [(Vec<&str>, &str); 4] = [
        (
            vec!["--tokenizer", "acme/absent"],
            "not in the Hugging Face cache",
        ),
        (
            vec!["--tokenizer", "acme/tiny-llama", "--tokenizer-revision", "v9"],
            "not at --tokenizer-revision v9",
        ),
        (
            vec!["--tokenizer", empty.path().to_str().unwrap()],
            "no tokenizer.json",
        ),
        (
            vec!["--tokenizer", "/no/such/tokenizer.json"],
            "no such file or folder",
        ),
    ];
    for (flags, want) in &cases {
        let mut args = vec!["-m", "m", "--url", "127.0.0.1:1"];
        args.extend_from_slice(flags);
        let lg = tool("loadgen", &args, home.path());
        let sp = tool("sweep-plan", &args, home.path());
        assert_eq!(
            (lg.status.code(), sp.status.code()),
            (Some(2), Some(2)),
            "{flags:?}"
        );
        let (a, b) = (first_line(&lg), first_line(&sp));
        assert!(a.starts_with("loadgen: --tokenizer ") && a.contains(want), "{a}");
        assert_eq!(
            a.strip_prefix("loadgen: "),
            b.strip_prefix("sweep-plan: "),
            "{flags:?}"
        );
        assert_eq!(String::from_utf8_lossy(&lg.stderr).lines().count(), 1, "{a}");
    }
    // A corrupt file is found by sweep-plan's check and refused by loadgen when it loads it.
    let lg = tool(
        "loadgen",
        &[
            "-m",
            "m",
            "--url",
            "127.0.0.1:1",
            "--tokenizer",
            corrupt.to_str().unwrap(),
        ],
        home.path(),
    );
    assert_eq!(lg.status.code(), Some(2));
    let a = first_line(&lg);
    assert!(
        a.contains("--tokenizer") && a.contains("not a valid tokenizer.json"),
        "{a}"
    );
}
