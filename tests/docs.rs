//! The shell examples of README.md and docs/*.md run as written. Every ```sh (bash, shell, console)
//! block says what it is on its fence line: `sh runnable`, or `sh not-runnable: WHY` (a GPU server,
//! Slurm, Kubernetes, a browser). The runnable blocks of one file run in order, each in its own
//! `bash` with `set -eo pipefail`, in one temp folder shared by that file's blocks (a later example
//! may read what an earlier one wrote), with this build's binaries and `scripts/` on PATH and
//! `scripts/`, `examples/`, `deploy/` and a copy of `tests/fixtures/` beside them, as in a clone.
//!
//! Servers: the examples talk to `127.0.0.1:8000` (or `localhost:8000`). A line of a runnable block
//! that starts `mock-llm` is started by the test itself, with its flags as written but on port 0,
//! and every `127.0.0.1:PORT` / `localhost:PORT` naming that line's `--port` (8000 when it gives
//! none) is rewritten to where it listens; a block that names port 8000 with no such line gets a
//! mock-llm with default flags. Servers live until the file's last block has run.

use crate::common::{bin, cpu_heavy, repo_root};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Shell languages whose blocks must say whether they run.
const SHELLS: [&str; 5] = ["sh", "bash", "shell", "console", "zsh"];
/// The most lines the README's quickstart may take (issue 22).
const QUICKSTART_MAX_LINES: usize = 60;
/// One block's time limit; a block that takes longer fails naming itself.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(300);

/// One fenced block: where its fence is, its info string and its lines (fence indent removed).
struct Block {
    file: String,
    line: usize,
    info: String,
    body: Vec<String>,
}

impl Block {
    fn lang(&self) -> &str {
        self.info.split_whitespace().next().unwrap_or("")
    }
    fn is_shell(&self) -> bool {
        SHELLS.contains(&self.lang())
    }
    fn runnable(&self) -> bool {
        self.info.split_whitespace().nth(1) == Some("runnable")
    }
    /// `None` when the block is marked properly, else what is wrong.
    fn marking_error(&self) -> Option<String> {
        let rest = self.info[self.lang().len()..].trim();
        if rest == "runnable" {
            return None;
        }
        match rest.strip_prefix("not-runnable:") {
            Some(why) if !why.trim().is_empty() => None,
            _ => Some(format!(
                "{}:{}: a ```{} block must say `runnable` or `not-runnable: WHY` on its fence line (it says {:?})",
                self.file,
                self.line,
                self.lang(),
                self.info
            )),
        }
    }
}

/// The fenced blocks of `text` (named `file` in messages), or every fence that is malformed: text
/// glued to a closing fence, a block never closed.
fn parse(file: &str, text: &str) -> Result<Vec<Block>, Vec<String>> {
    let (mut blocks, mut errors) = (Vec::new(), Vec::new());
    let mut open: Option<(Block, usize)> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        let indent = raw.len() - trimmed.len();
        match open.take() {
            None if trimmed.starts_with("```") => {
                let info = trimmed.trim_start_matches('`').trim().to_string();
                let block = Block {
                    file: file.to_string(),
                    line: i + 1,
                    info,
                    body: Vec::new(),
                };
                open = Some((block, indent));
            }
            None => {}
            Some((block, _)) if trimmed.starts_with("```") => {
                if trimmed.trim_end() != "```" {
                    errors.push(format!(
                        "{file}:{}: text after the closing fence of the block at line {}: put the fence on its own line",
                        i + 1,
                        block.line
                    ));
                }
                blocks.push(block);
            }
            Some((mut block, fence_indent)) => {
                let cut = raw.len() - raw.trim_start().len();
                block.body.push(raw[cut.min(fence_indent)..].to_string());
                open = Some((block, fence_indent));
            }
        }
    }
    if let Some((block, _)) = open {
        errors.push(format!("{file}:{}: this block is never closed", block.line));
    }
    if errors.is_empty() {
        Ok(blocks)
    } else {
        Err(errors)
    }
}

/// README.md and every docs/*.md, as (name relative to the repo, text).
fn documents() -> Vec<(String, String)> {
    let root = repo_root();
    let mut names = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    names.extend(docs);
    names
        .into_iter()
        .map(|n| {
            let text = std::fs::read_to_string(root.join(&n)).unwrap_or_else(|e| panic!("{n}: {e}"));
            (n, text)
        })
        .collect()
}

fn blocks_of(file: &str, text: &str) -> Vec<Block> {
    parse(file, text).unwrap_or_else(|errors| panic!("{}", errors.join("\n")))
}

/// README.md's lines from `## Quickstart` up to the next `## ` heading, and its first line number.
fn quickstart(readme: &str) -> (String, usize) {
    let lines: Vec<&str> = readme.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_end() == "## Quickstart")
        .expect("README.md has a `## Quickstart` section");
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with("## "))
        .map_or(lines.len(), |n| start + 1 + n);
    (lines[start..end].join("\n"), start + 1)
}

/// A mock-llm the test started for a document's examples; killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `mock-llm ARGS --port 0` in `dir` and waits for its `{"listening":…}` line.
fn start_mock(dir: &Path, args: &[String], what: &str) -> Server {
    use std::io::BufRead;
    let mut child = Command::new(bin("mock-llm"))
        .args(args)
        .args(["--port", "0"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mock-llm");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("read mock-llm's first line");
    let v: serde_json::Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("{what}: mock-llm {args:?} did not start ({e}): {line:?}"));
    let addr = v["listening"].as_str().expect("listening address");
    let port = addr.rsplit(':').next().unwrap().parse().unwrap();
    Server { child, port }
}

/// The flags of a `mock-llm …` command line without `--port P` (and P, 8000 when absent), up to a
/// comment or a trailing `&`.
fn mock_command(line: &str) -> (Vec<String>, u16) {
    let words: Vec<&str> = line
        .split('#')
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .take_while(|w| *w != "&")
        .collect();
    let (mut args, mut port) = (Vec::new(), 8000);
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        match w {
            "--port" => port = it.next().expect("--port's value").parse().expect("a port number"),
            "\\" => {}
            w => args.push(w.to_string()),
        }
    }
    (args, port)
}

/// One document's examples: the folder they run in and the servers they talk to.
struct Runner {
    dir: tempfile::TempDir,
    servers: HashMap<u16, Server>,
}

impl Runner {
    fn new() -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let root = repo_root();
        for link in ["scripts", "examples", "deploy"] {
            std::os::unix::fs::symlink(root.join(link), dir.path().join(link)).unwrap();
        }
        std::fs::create_dir(dir.path().join("tests")).unwrap();
        let cp = Command::new("cp")
            .args(["-r", root.join("tests/fixtures").to_str().unwrap()])
            .arg(dir.path().join("tests"))
            .status()
            .unwrap();
        assert!(cp.success(), "copy tests/fixtures");
        Runner {
            dir,
            servers: HashMap::new(),
        }
    }

    /// The block's script as it runs here: its `mock-llm` lines started by the test (and blanked),
    /// its ports rewritten to theirs.
    fn prepare(&mut self, block: &Block) -> String {
        let what = format!("{}:{}", block.file, block.line);
        let mut lines = block.body.clone();
        for line in lines.iter_mut() {
            if line.trim_start().starts_with("mock-llm ") || line.trim() == "mock-llm" {
                let (args, port) = mock_command(line);
                self.servers.remove(&port);
                self.servers
                    .insert(port, start_mock(self.dir.path(), &args, &what));
                *line = String::new();
            }
        }
        let mut script = lines.join("\n");
        if script.contains(":8000") && !self.servers.contains_key(&8000) {
            self.servers.insert(8000, start_mock(self.dir.path(), &[], &what));
        }
        for (doc_port, server) in &self.servers {
            for host in ["127.0.0.1", "localhost"] {
                let to = format!("127.0.0.1:{}", server.port);
                script = script.replace(&format!("{host}:{doc_port}"), &to);
            }
        }
        script
    }

    /// Runs one block; panics naming its `file:line` with its output when it fails or hangs.
    fn run(&mut self, block: &Block, index: usize) {
        use std::os::unix::process::CommandExt;
        let script = self.prepare(block);
        let dir = self.dir.path();
        let path = dir.join(format!(".block-{index}.sh"));
        std::fs::write(&path, format!("set -eo pipefail\n{script}\n")).unwrap();
        let (out, err) = (
            dir.join(format!(".block-{index}.out")),
            dir.join(format!(".block-{index}.err")),
        );
        let bins = bin("loadgen").parent().unwrap().to_path_buf();
        let path_env = format!(
            "{}:{}:{}",
            bins.display(),
            repo_root().join("scripts").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let started = Instant::now();
        let mut child = Command::new("bash")
            .arg(&path)
            .current_dir(dir)
            .env("PATH", path_env)
            .env_remove("OPENAI_API_KEY")
            .env_remove("SWEEPKIT_BIN_DIR")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .process_group(0)
            .spawn()
            .expect("run bash");
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if started.elapsed() > BLOCK_TIMEOUT {
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // The block's background jobs (a scrape, shards) end with it.
        unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
        let _ = child.wait();
        let took = started.elapsed().as_secs_f64();
        eprintln!("{}:{}: ran in {took:.1} s", block.file, block.line);
        if status.is_some_and(|s| s.success()) {
            return;
        }
        let verdict = status.map_or(format!("still running after {BLOCK_TIMEOUT:?}"), |s| {
            format!("failed ({s})")
        });
        panic!(
            "{}:{}: this example {verdict}, run as written in {}:\n{}\n--- stderr (end) ---\n{}\n--- stdout (end) ---\n{}",
            block.file,
            block.line,
            dir.display(),
            script,
            tail(&err, 40),
            tail(&out, 20)
        );
    }
}

fn tail(p: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs `blocks` (the runnable ones) in order in one folder; returns that folder's runner.
fn run_all(blocks: &[Block]) -> Runner {
    let mut runner = Runner::new();
    for (i, b) in blocks.iter().filter(|b| b.is_shell() && b.runnable()).enumerate() {
        runner.run(b, i);
    }
    runner
}

#[test]
fn every_shell_block_is_marked_and_every_fence_stands_alone() {
    let mut errors = Vec::new();
    for (file, text) in documents() {
        match parse(&file, &text) {
            Ok(blocks) => errors.extend(
                blocks
                    .iter()
                    .filter(|b| b.is_shell())
                    .filter_map(Block::marking_error),
            ),
            Err(e) => errors.extend(e),
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn the_readme_opens_with_the_demo_and_the_test_command_ci_runs() {
    let (_, readme) = documents().into_iter().next().unwrap();
    let first = blocks_of("README.md", &readme)
        .into_iter()
        .next()
        .expect("README.md has a block");
    let commands: Vec<String> = first
        .body
        .iter()
        .map(|l| l.split('#').next().unwrap().trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        commands,
        ["make demo", "make test"],
        "README.md:{}: the two set-up commands",
        first.line
    );
    let ci = std::fs::read_to_string(repo_root().join(".ci/run")).unwrap();
    let last = ci
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with('#'));
    assert_eq!(
        last,
        Some("make test"),
        ".ci/run must run the README's test command"
    );
}

#[test]
fn the_quickstart_runs_as_written_and_fits_in_60_lines() {
    let (_, readme) = documents().into_iter().next().unwrap();
    let (section, first_line) = quickstart(&readme);
    let lines = section.lines().count();
    assert!(
        lines <= QUICKSTART_MAX_LINES,
        "README.md:{first_line}: the quickstart takes {lines} lines, more than {QUICKSTART_MAX_LINES}"
    );
    let mut blocks = blocks_of("README.md", &section);
    for b in &mut blocks {
        b.line += first_line - 1;
    }
    for needed in [
        "--isl",
        "--osl",
        "ignore_eos",
        "mock-llm",
        "scripts/profile",
        "report.html",
    ] {
        assert!(section.contains(needed), "the quickstart shows {needed}");
    }
    let _cpu = cpu_heavy();
    let runner = run_all(&blocks);
    // Step 6 opens the report where step 5 says the files land.
    let opened = blocks
        .iter()
        .find(|b| b.body.iter().any(|l| l.starts_with("xdg-open ")))
        .unwrap();
    let report = opened
        .body
        .iter()
        .flat_map(|l| l.split_whitespace())
        .find(|w| w.ends_with("report.html"))
        .unwrap();
    assert!(
        runner.dir.path().join(report).is_file(),
        "README.md:{}: the quickstart's sweep wrote no {report}",
        opened.line
    );
}

#[test]
fn readme_examples_run_against_mock_llm() {
    let (_, readme) = documents().into_iter().next().unwrap();
    let (_, first_line) = quickstart(&readme);
    let (quick_start, quick_end) = (first_line, first_line + quickstart(&readme).0.lines().count());
    let blocks: Vec<Block> = blocks_of("README.md", &readme)
        .into_iter()
        .filter(|b| b.line < quick_start || b.line >= quick_end)
        .collect();
    assert!(
        blocks.iter().filter(|b| b.runnable()).count() >= 10,
        "README.md's runnable examples"
    );
    let _cpu = cpu_heavy();
    run_all(&blocks);
}

#[test]
fn docs_examples_run_against_mock_llm() {
    let docs: Vec<(String, String)> = documents().into_iter().skip(1).collect();
    let _cpu = cpu_heavy();
    for (file, text) in docs {
        run_all(&blocks_of(&file, &text));
    }
}

#[test]
fn a_failing_example_fails_naming_its_file_and_line() {
    let text = "intro\n\n```sh runnable\ntrue\n```\n\n```sh runnable\nfalse\n```\n";
    let blocks = blocks_of("x.md", text);
    let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_all(&blocks)));
    let msg = got
        .err()
        .and_then(|e| e.downcast::<String>().ok())
        .expect("the second block fails");
    assert!(msg.starts_with("x.md:7: this example failed"), "{msg}");
    let glued = parse("y.md", "```sh runnable\ntrue\n``` text\n");
    assert!(glued.is_err_and(|e| e[0].starts_with("y.md:3: text after the closing fence")));
}
