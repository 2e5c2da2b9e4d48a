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
