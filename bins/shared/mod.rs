//! What every sweepkit binary does the same way: parse, run, map the outcome to an exit code,
//! print errors as `<tool>: <message: cause: cause>` (URL secrets redacted), exit 0 quietly on a broken pipe, and render
//! its own man page and shell completions from its clap definitions (hidden `--generate`).

use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use sweepkit::io::outcome::{Outcome, EXIT_ERROR};

/// Runs a tool: `run` gets the parsed options and returns how it ended.
pub fn main<T: Parser>(tool: &'static str, run: impl FnOnce(T) -> anyhow::Result<Outcome>) -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    if let Some(i) = args.iter().position(|a| a == "--generate") {
        let what = args.get(i + 1).and_then(|a| a.to_str()).unwrap_or("");
        return match generate::<T>(tool, what) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{tool}: --generate: {e}");
                ExitCode::from(EXIT_ERROR)
            }
        };
    }
    let opts = match T::try_parse_from(&args) {
        Ok(o) => o,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // `tool: invalid value '0' for '--concurrency <N>': must be at least 1`, like every other error.
            let text = e.render().to_string();
            let text = sweepkit::io::redact::text(&text);
            eprint!("{tool}: {}", text.strip_prefix("error: ").unwrap_or(&text));
            return ExitCode::from(EXIT_ERROR);
        }
    };
    match run(opts) {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{tool}: {}", sweepkit::io::redact::text(&format!("{e:#}")));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// `--generate man|bash|zsh|fish`: the man page or completion script, to stdout.
fn generate<T: CommandFactory>(tool: &'static str, what: &str) -> io::Result<()> {
    let mut cmd = T::command().name(tool).bin_name(tool);
    let mut out = io::stdout().lock();
    let shell = match what {
        "man" => {
            cmd.build();
            return clap_mangen::Man::new(cmd)
                .render(&mut out)
                .and_then(|_| out.flush());
        }
        "bash" => clap_complete::Shell::Bash,
        "zsh" => clap_complete::Shell::Zsh,
        "fish" => clap_complete::Shell::Fish,
        other => {
            return Err(io::Error::other(format!(
                "unknown target '{other}': use man, bash, zsh or fish"
            )));
        }
    };
    clap_complete::generate(shell, &mut cmd, tool, &mut out);
    out.flush()
}
