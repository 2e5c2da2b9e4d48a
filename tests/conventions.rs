//! Conventions every binary keeps: man pages not stale, errors and exit codes, --help shape.

use crate::common::{bin, repo_root, run, TOOLS};

#[test]
fn committed_man_pages_match_the_clap_definitions() {
    for tool in TOOLS {
        let out = run(tool, &["--generate", "man"]);
        assert!(out.status.success(), "{tool} --generate man failed");
        let path = repo_root().join("man").join(format!("{tool}.1"));
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "man/{tool}.1 is stale or missing: run scripts/gen-man and commit man/"
        );
    }
}

#[test]
fn completions_render_for_every_shell() {
    for tool in TOOLS {
        for shell in ["bash", "zsh", "fish"] {
            let out = run(tool, &["--generate", shell]);
            assert!(out.status.success(), "{tool} --generate {shell}");
            assert!(
                String::from_utf8_lossy(&out.stdout).contains(tool),
                "{tool} {shell} completion names the tool"
            );
        }
    }
    let out = run("pareto", &["--generate", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("pareto: --generate: unknown target 'tcsh'"));
}

#[test]
fn a_wrong_flag_is_a_usage_error_naming_it() {
    for tool in TOOLS {
        let out = run(tool, &["--no-such-flag"]);
        assert_eq!(out.status.code(), Some(2), "{tool}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"),
            "{tool}"
        );
    }
}

#[test]
fn help_has_examples_of_real_pipelines() {
    for tool in TOOLS {
        let out = run(tool, &["--help"]);
        assert!(out.status.success(), "{tool} --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("EXAMPLES"), "{tool} --help has an EXAMPLES section");
        assert!(text.contains(tool), "{tool} --help shows itself in use");
        assert!(
            !text.contains(env!("CARGO_PKG_DESCRIPTION")),
            "{tool} --help describes the tool, not the package"
        );
    }
}

#[test]
fn a_closed_pipe_ends_the_tool_quietly_with_exit_0() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    // A plan far larger than a pipe's buffer, read one line at a time like `| head -n 1`.
    let values: Vec<String> = (1..=400).map(|c| c.to_string()).collect();
    let mut child = Command::new(bin("sweep-plan"))
        .args([
            "--model",
            "m",
            "--concurrency",
            &values.join(","),
            "--num-profile-runs",
            "10",
            // With the output length set, sweep-plan has nothing to note on stderr.
            "--osl",
            "16",
            "--ui",
            "none",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with('{'), "{first}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "quiet: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The load flags are declared once: every value loadgen refuses, sweep-plan refuses at plan time
/// with the same message (after the tool's name), so no plan holds a run loadgen would refuse.
#[test]
fn sweep_plan_refuses_what_loadgen_refuses_with_the_same_message() {
    let first_line = |out: &std::process::Output, tool: &str| -> String {
        let e = String::from_utf8_lossy(&out.stderr).to_string();
        let line = e.lines().next().unwrap_or_default().to_string();
        line.strip_prefix(&format!("{tool}: "))
            .unwrap_or_else(|| panic!("{tool}: error not prefixed: {e}"))
            .to_string()
    };
    let cases: &[&[&str]] = &[
        &["--arrival-pattern", "bogus"],
        &["--custom-dataset-type", "bogus"],
        &["--endpoint-type", "bogus"],
        &["--concurrency", "0"],
        &["--concurrency", "two"],
        &["--request-rate", "-3"],
        &["--request-rate", "0"],
        &["--request-count", "0"],
        &["--benchmark-duration", "inf"],
        &["--isl", "0"],
        &["--osl", "0"],
        &["--isl-stddev=-1"],
        &["--osl-stddev", "nan"],
        &["--arrival-smoothness", "0"],
        &["--concurrency-ramp-duration=-1"],
        &["--benchmark-grace-period=-1"],
        &["--num-prompts", "0"],
        &["--request-timeout-seconds", "0"],
        &["--warmup-request-count", "x"],
        &["--random-seed=-1"],
        &["--extra-inputs", "nocolon"],
        &["--url", "ftp://host"],
        &["--custom-dataset-type", "mooncake_trace"],
        &["--input-file", "/no/such/dataset.jsonl"],
        &["--tokenizer", "/no/such/tokenizer.json"],
        &["--request-count", "5", "--benchmark-duration", "5"],
        &["--endpoint-type", "embeddings", "--streaming"],
    ];
    for case in cases {
        let mut args = vec!["-m", "m"];
        args.extend_from_slice(case);
        let lg = run("loadgen", &args);
        assert_eq!(lg.status.code(), Some(2), "loadgen {case:?} is refused");
        let sp = run("sweep-plan", &args);
        assert_eq!(sp.status.code(), Some(2), "sweep-plan {case:?} is refused");
        assert!(sp.stdout.is_empty(), "sweep-plan {case:?} writes no plan");
        let (a, b) = (first_line(&lg, "loadgen"), first_line(&sp, "sweep-plan"));
        // sweep-plan words the count/duration clash for a whole sweep; both name both flags.
        if case.contains(&"--benchmark-duration") && case.contains(&"--request-count") {
            assert!(
                a.contains("mutually exclusive") && b.contains("mutually exclusive"),
                "{a} / {b}"
            );
        } else {
            assert_eq!(a, b, "{case:?}");
        }
    }
    // loadgen runs one setting: a list is refused there and planned by sweep-plan.
    let out = run("loadgen", &["-m", "m", "--concurrency", "1,2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(first_line(&out, "loadgen").contains("sweep a list with sweep-plan"));
}
