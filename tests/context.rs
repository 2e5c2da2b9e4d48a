//! The model's context, as its files state it (`model_max_length`, else config.json's
//! `max_position_embeddings`): `--isl` (+ `--osl`)
//! beyond it is refused, naming the file it came from; a spread that may cross it is a warning.

use crate::common::{bin, repo_root, MockServer};
use std::process::Command;

/// A copy of a fixture tokenizer whose tokenizer_config.json states a 300-token context.
fn tokenizer_with_context(dir: &std::path::Path) -> std::path::PathBuf {
    let tok = dir.join("tok");
    std::fs::create_dir(&tok).unwrap();
    let src = repo_root().join("tests/fixtures/tokenizers/bpe_bytelevel/tokenizer.json");
    std::fs::copy(src, tok.join("tokenizer.json")).unwrap();
    std::fs::write(
        tok.join("tokenizer_config.json"),
        r#"{"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 300}"#,
    )
    .unwrap();
    tok
}

#[test]
fn isl_and_osl_beyond_the_models_context_are_refused_and_a_spread_across_it_warns_once() {
    let dir = tempfile::tempdir().unwrap();
    let tok = tokenizer_with_context(dir.path());
    let config = tok.join("tokenizer_config.json");
    let mock = MockServer::start(&["--ttft-ms", "0", "--itl-ms", "0"]);
    let loadgen = |extra: &[&str]| {
        Command::new(bin("loadgen"))
            .env_remove("OPENAI_API_KEY")
            .args(["--url", &mock.url(), "-m", "m", "--ui", "none"])
            .args(["--tokenizer", tok.to_str().unwrap(), "--request-count", "3"])
            .args(["-o", dir.path().join("r.jsonl").to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap()
    };
    let source = format!("model_max_length in {}", config.display());
    for (args, want) in [
        (
            &["--isl", "301"][..],
            format!("loadgen: --isl 301: more than the model's context of 300 tokens ({source}); give a smaller --isl"),
        ),
        (
            &["--isl", "250", "--osl", "51"][..],
            format!("loadgen: --isl 250 + --osl 51 = 301 tokens: more than the model's context of 300 tokens ({source}); give a smaller --isl or --osl"),
        ),
    ] {
        let o = loadgen(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim(), want, "{args:?}");
    }
    // At the limit exactly: no error, no warning.
    let o = loadgen(&["--isl", "250", "--osl", "50"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("context"), "{err}");
    // 200 + 3 x 20 + 10 = 270 fits; 200 + 3 x 40 + 10 = 330 may not: one warning, the run goes on.
    let o = loadgen(&["--isl", "200", "--isl-stddev", "20", "--osl", "10"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("context"), "{err}");
    let o = loadgen(&["--isl", "200", "--isl-stddev", "40", "--osl", "10"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let warning = format!("loadgen: warning: --isl 200 (stddev 40) + --osl 10 (stddev 0): mean + 3 stddev = 330 tokens, more than the model's context of 300 tokens ({source}): the server may refuse the longest requests");
    assert_eq!(
        err.lines().filter(|l| l.contains("context")).collect::<Vec<_>>(),
        [warning.as_str()],
        "{err}"
    );
    let records = std::fs::read_to_string(dir.path().join("r.jsonl")).unwrap();
    assert_eq!(records.lines().count(), 3);
}

#[test]
fn without_model_max_length_the_context_is_config_jsons_max_position_embeddings() {
    let dir = tempfile::tempdir().unwrap();
    let tok = tokenizer_with_context(dir.path());
    // transformers' sentinel for "unknown": the model's config.json beside it says 200.
    std::fs::write(
        tok.join("tokenizer_config.json"),
        r#"{"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 1e30}"#,
    )
    .unwrap();
    let config = tok.join("config.json");
    std::fs::write(
        &config,
        r#"{"model_type": "llama", "max_position_embeddings": 200}"#,
    )
    .unwrap();
    let o = Command::new(bin("loadgen"))
        .env_remove("OPENAI_API_KEY")
        .args(["--url", "http://127.0.0.1:9", "-m", "m", "--ui", "none"])
        .args(["--tokenizer", tok.to_str().unwrap(), "--request-count", "1"])
        .args(["--isl", "150", "--osl", "51"])
        .args(["-o", dir.path().join("r.jsonl").to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim(),
        format!(
            "loadgen: --isl 150 + --osl 51 = 201 tokens: more than the model's context of 200 tokens (max_position_embeddings in {}); give a smaller --isl or --osl",
            config.display()
        )
    );
    // sweep-plan checks every planned run against the same context: 201 is refused, 200 plans.
    let plan = |osl: &str| {
        Command::new(bin("sweep-plan"))
            .args(["--url", "http://127.0.0.1:9", "-m", "m"])
            .args(["--tokenizer", tok.to_str().unwrap(), "--concurrency", "1,2"])
            .args(["--isl", "150", "--osl", osl])
            .output()
            .unwrap()
    };
    let o = plan("51");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("sweep-plan: --isl 150 + --osl 51 = 201 tokens: more than the model's context of 200 tokens (max_position_embeddings in "),
        "{err}"
    );
    let o = plan("50");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}
