//! Sharded work through a live one-host Slurm cluster (deploy/slurm/local-cluster: munged,
//! slurmctld and slurmd on 127.0.0.1): scripts/run-shards --launcher slurm (salloc + one srun step of
//! 4 tasks) and a whole sweep as one sbatch job (deploy/slurm/sweepkit.sbatch), each compared with
//! one process running the same load against mock-llm; a killed task and a cancelled job named as
//! incomplete shards; the cluster script's own start/stop contract. Nothing is skipped: when Slurm
//! cannot start, every test here fails with the script's one-line reason.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{bin, cpu_heavy, read_json, repo_root, MockServer};

fn local_cluster() -> PathBuf {
    repo_root().join("deploy/slurm/local-cluster")
}

/// The cluster this test binary shares, started on first use. Statics are never dropped, so
/// `--watch-pid` leaves a watchdog that stops it once this process has ended.
fn cluster() -> &'static Path {
    static CLUSTER: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let started = CLUSTER.get_or_init(|| {
        let out = Command::new(local_cluster())
            .args(["start", "--watch-pid", &std::process::id().to_string()])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("deploy/slurm/local-cluster did not run: {e}"))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "Slurm could not start: {}",
                err.lines().last().unwrap_or("no message")
            ));
        }
        Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    });
    started.as_ref().unwrap_or_else(|e| panic!("{e}"))
}

/// A command that talks to the shared cluster, with no outer allocation's variables leaking in.
fn slurm_command(program: &Path) -> Command {
    let mut c = Command::new(program);
    for (k, _) in std::env::vars() {
        if k.starts_with("SLURM_") || k.starts_with("SBATCH_") || k.starts_with("SALLOC_") {
            c.env_remove(k);
        }
    }
    c.env("SLURM_CONF", cluster().join("slurm.conf"))
        .env("SWEEPKIT_BIN_DIR", bin("loadgen").parent().unwrap())
        .env_remove("OPENAI_API_KEY");
    c
}

/// A mock with a fixed schedule (30 ms to the first token, 5 ms per token, no queueing, no jitter).
fn exact_mock() -> MockServer {
    MockServer::start(&[
        "--ttft-ms",
        "30",
        "--itl-ms",
        "5",
        "--prefill-ms-per-token",
        "0",
        "--itl-per-running-ms",
        "0",
        "--max-batch",
        "512",
    ])
}

fn plan_line(url: &str, requests: u64) -> String {
    serde_json::json!({"loadgen": {"url": url, "model": "mock-model", "streaming": true,
        "concurrency": 8, "request_count": requests, "osl": 8, "isl": 32, "num_prompts": 40,
        "random_seed": 5, "extra_inputs": {"ignore_eos": true}, "ui": "none"}})
    .to_string()
}

fn records(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `scripts/run-shards --launcher slurm --shards 4` of `plan` into `run`, as a child (job name `job`).
fn spawn_run_shards(run: &Path, plan: &str, job: &str, lead: &str) -> std::process::Child {
    use std::io::Write;
    let mut child = slurm_command(&repo_root().join("scripts/run-shards"))
        .args(["--launcher", "slurm", "--shards", "4", "--start-lead", lead])
        .args(["--slurm-args", &format!("-O -J {job}")])
        .arg(run)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start scripts/run-shards");
    writeln!(child.stdin.take().unwrap(), "{plan}").unwrap();
    child
}

fn summary(records: &Path, infos: &[PathBuf]) -> Output {
    let mut c = Command::new(bin("trial-agg"));
    for r in infos {
        c.arg("--run-info").arg(r);
    }
    c.arg(records).args(["--format", "json"]).output().unwrap()
}

fn avg(summary: &Value, tag: &str) -> f64 {
    summary[tag]["avg"]
        .as_f64()
        .unwrap_or_else(|| panic!("no {tag}.avg in the summary"))
}

#[test]
fn four_srun_tasks_run_one_benchmark_that_matches_one_process() {
    // Throughput is compared: no CPU-heavy test (nor another Slurm run) beside it.
    let _quiet = cpu_heavy();
    let mock = exact_mock();
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_line(&mock.url(), 160);
    // One process, the whole benchmark.
    std::fs::write(dir.path().join("plan.json"), &plan).unwrap();
    ok(
        Command::new(bin("loadgen"))
            .arg("--spec")
            .arg(dir.path().join("plan.json"))
            .arg("--output")
            .arg(dir.path().join("single.jsonl"))
            .arg("--run-info-out")
            .arg(dir.path().join("single_info.json"))
            .env_remove("OPENAI_API_KEY")
            .output()
            .unwrap(),
        "the single loadgen",
    );
    // Four Slurm tasks, one shard each (salloc, then one srun step).
    let run = dir.path().join("run");
    let out = spawn_run_shards(&run, &plan, "sweepkit-test-bench", "4")
        .wait_with_output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    ok(out, "run-shards --launcher slurm");
    assert!(err.contains("4 shards (slurm)"), "{err}");

    let infos: Vec<PathBuf> = (1..=4)
        .map(|i| run.join(format!("shards/shard_{i}/run_info.json")))
        .collect();
    let mut steps = HashSet::new();
    for (i, p) in infos.iter().enumerate() {
        let info = read_json(p);
        assert_eq!(info["shard"]["index"], i + 1);
        assert_eq!(info["shard"]["count"], 4);
        assert!(
            info["shard"]["start_late_ms"].as_f64().unwrap() < 10_000.0,
            "{}",
            info["shard"]
        );
        // Slurm's own record of the task: job.step and host, one step for all four.
        let task =
            std::fs::read_to_string(run.join(format!("shards/shard_{i}/slurm_task", i = i + 1))).unwrap();
        steps.insert(task.split_whitespace().next().unwrap().to_string());
    }
    assert_eq!(steps.len(), 1, "the four shards ran in one srun step: {steps:?}");
    let all = records(&run.join("profile_export.jsonl"));
    let single = records(&dir.path().join("single.jsonl"));
    assert_eq!(all.len(), 160);
    assert_eq!(all.len(), single.len());
    let ids: HashSet<&str> = all
        .iter()
        .map(|r| r["metadata"]["x_request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), all.len(), "a request id repeats across shards");
    for i in 1..=4 {
        let n = all
            .iter()
            .filter(|r| r["metadata"]["shard"]["index"] == i)
            .count();
        assert_eq!(n, 40, "shard {i} sends its quarter of 160");
    }
    assert!(all.iter().all(|r| r["error"].is_null()));

    let merged: Value = serde_json::from_slice(
        &ok(
            summary(&run.join("profile_export.jsonl"), &infos),
            "trial-agg of the shards",
        )
        .stdout,
    )
    .unwrap();
    let one: Value = serde_json::from_slice(
        &ok(
            summary(
                &dir.path().join("single.jsonl"),
                &[dir.path().join("single_info.json")],
            ),
            "trial-agg of the single run",
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(avg(&merged, "request_count"), 160.0);
    assert_eq!(
        merged["sweepkit"]["shards"]["merged"],
        serde_json::json!([1, 2, 3, 4])
    );
    assert_eq!(merged["sweepkit"]["shards"]["missing"], serde_json::json!([]));
    // Same load, same server: the mock's fixed schedule makes throughput a property of the load;
    // a loaded 2-core machine moves it, so the band is wide (as in tests/shards.rs).
    let ratio = avg(&merged, "request_throughput") / avg(&one, "request_throughput");
    eprintln!("slurm: request throughput merged/single = {ratio:.3}");
    assert!((0.25..4.0).contains(&ratio), "throughput ratio {ratio}");
}

/// Every `profile_export_aiperf.json` below `root`, by its folder relative to `root`.
fn summaries(root: &Path) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "profile_export_aiperf.json") {
                let rel = p.parent().unwrap().strip_prefix(root).unwrap();
                out.push((rel.display().to_string(), read_json(&p)));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

const SWEEP: [&str; 18] = [
    "--model",
    "mock-model",
    "--streaming",
    "--concurrency",
    "4,8",
    "--request-count",
    "96",
    "--osl",
    "4",
    "--isl",
    "32",
    "--num-prompts",
    "16",
    "--extra-inputs",
    "ignore_eos:true",
    "--no-server-metrics",
    "--start-lead",
    "3",
];

#[test]
fn a_sweep_as_one_sbatch_job_matches_the_plain_sweep() {
    let _quiet = cpu_heavy();
    let mock = exact_mock();
    let dir = tempfile::tempdir().unwrap();
    // The template as a user edits it for this 2-CPU node: 4 tasks, overcommitted.
    let template = std::fs::read_to_string(repo_root().join("deploy/slurm/sweepkit.sbatch")).unwrap();
    assert!(
        template.contains("#SBATCH --ntasks-per-node=4\n"),
        "the template's tasks-per-node line moved"
    );
    let job = template.replace(
        "#SBATCH --ntasks-per-node=4\n",
        "#SBATCH --ntasks=4\n#SBATCH --overcommit\n",
    );
    std::fs::write(dir.path().join("job.sbatch"), job).unwrap();
    let out = slurm_command(Path::new("sbatch"))
        .current_dir(dir.path())
        .env("SWEEPKIT_ROOT", repo_root())
        .args([
            "--wait",
            "--job-name",
            "sweepkit-test-sweep",
            "job.sbatch",
            "--url",
            &mock.url(),
        ])
        .args(SWEEP)
        .args(["--artifact-dir", "sharded"])
        .output()
        .unwrap();
    let log = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("sweepkit-"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .unwrap_or_default();
    assert!(
        out.status.success(),
        "sbatch --wait: {}\n{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(
        Command::new(repo_root().join("scripts/profile"))
            .current_dir(dir.path())
            .env("SWEEPKIT_BIN_DIR", bin("loadgen").parent().unwrap())
            .env_remove("OPENAI_API_KEY")
            .args(["--url", &mock.url()])
            .args(&SWEEP[..16])
            .args(["--artifact-dir", "plain"])
            .stdin(Stdio::null())
            .output()
            .unwrap(),
        "scripts/profile (one process per run)",
    );
    let sharded = summaries(&dir.path().join("sharded"));
    let plain = summaries(&dir.path().join("plain"));
    let folders = |v: &[(String, Value)]| v.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>();
    assert_eq!(folders(&sharded), folders(&plain), "{log}");
    assert_eq!(sharded.len(), 2, "{log}");
    for ((folder, s), (_, p)) in sharded.iter().zip(&plain) {
        assert_eq!(avg(s, "request_count"), 96.0, "{folder}");
        assert_eq!(avg(p, "request_count"), 96.0, "{folder}");
        assert_eq!(
            s["sweepkit"]["shards"]["merged"],
            serde_json::json!([1, 2, 3, 4]),
            "{folder}"
        );
        let run = dir.path().join("sharded").join(folder);
        let recs = records(&run.join("profile_export.jsonl"));
        let ids: HashSet<&str> = recs
            .iter()
            .map(|r| r["metadata"]["x_request_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 96, "{folder}: a request id repeats or one is missing");
        // How fast 4 shard processes ran beside one on a loaded machine is the OS's business (0.21
        // was seen under a stress run); the counts and ids above are the program's. The ratio is
        // only kept from absurdity: a merged window or count off by orders of magnitude.
        let ratio = avg(s, "request_throughput") / avg(p, "request_throughput");
        eprintln!("slurm sweep {folder}: request throughput sharded/plain = {ratio:.3}");
        assert!(
            (0.02..50.0).contains(&ratio),
            "{folder}: throughput ratio {ratio}"
        );
    }
}

/// Waits until every shard of `run` has sent a request (its records file is not empty).
fn wait_until_running(run: &Path, child: &mut std::process::Child) {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let started = (1..=4).all(|i| {
            std::fs::metadata(run.join(format!("shards/shard_{i}/profile_export.jsonl")))
                .is_ok_and(|m| m.len() > 0)
        });
        if started {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("run-shards ended ({status}) before every shard ran");
        }
        assert!(Instant::now() < until, "the shards did not start within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The pid of the loadgen running shard `shard` into `run` (found by its command line).
fn loadgen_pid(run: &Path, shard: &str) -> u32 {
    let marker = format!("--shard {shard} ");
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(&marker) && cmd.contains(&*run.to_string_lossy()) && cmd.contains("loadgen") {
            return pid;
        }
    }
    panic!("no loadgen runs shard {shard} of {}", run.display());
}

#[test]
fn a_killed_task_and_a_cancelled_job_are_named_not_merged() {
    // Seconds of load on both cores: kept apart from the tests that compare throughput.
    let _quiet = cpu_heavy();
    let mock = exact_mock();
    let dir = tempfile::tempdir().unwrap();
    // 8 streams of ~70 ms requests: 800 requests take seconds, long enough to interfere with.
    let plan = plan_line(&mock.url(), 800);

    // A task whose loadgen dies (SIGKILL): the others finish; shard 2 is named, exit 1.
    let run = dir.path().join("killed");
    let mut child = spawn_run_shards(&run, &plan, "sweepkit-test-kill", "2");
    wait_until_running(&run, &mut child);
    let pid = loadgen_pid(&run, "2/4");
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap();
    assert!(
        last.contains("shard 2/4 did not complete") && last.contains("killed by signal 9"),
        "{err}"
    );
    assert!(!run.join("shards/shard_2/run_info.json").exists());
    let present: Vec<PathBuf> = [1, 3, 4]
        .iter()
        .map(|i| run.join(format!("shards/shard_{i}/run_info.json")))
        .collect();
    let merge = summary(&run.join("profile_export.jsonl"), &present);
    assert_eq!(merge.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&merge.stderr).contains("shard 2/4 is missing"));

    // The whole job cancelled (scancel): every shard flushed a partial run and is named.
    let run = dir.path().join("cancelled");
    let mut child = spawn_run_shards(&run, &plan, "sweepkit-test-cancel", "2");
    wait_until_running(&run, &mut child);
    ok(
        slurm_command(Path::new("scancel"))
            .args(["--name", "sweepkit-test-cancel"])
            .output()
            .unwrap(),
        "scancel",
    );
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for i in 1..=4 {
        assert!(
            err.contains(&format!("shard {i}/4 (slurm task {}", i - 1)) && err.contains("CANCELLED AT"),
            "shard {i}: {err}"
        );
        let info = read_json(&run.join(format!("shards/shard_{i}/run_info.json")));
        assert_eq!(info["end"]["reason"], "interrupted", "shard {i}");
    }
    assert!(
        err.lines()
            .last()
            .unwrap()
            .contains("shard 1/4,2/4,3/4,4/4 did not complete"),
        "{err}"
    );
}

/// The pids in `dir/run/*.pid` (munged, slurmctld, slurmd).
fn daemon_pids(dir: &Path) -> Vec<i32> {
    ["munged", "slurmctld", "slurmd"]
        .iter()
        .map(|n| {
            let p = dir.join(format!("run/{n}.pid"));
            std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                .trim()
                .parse()
                .unwrap()
        })
        .collect()
}

/// Alive and not a zombie (an ended daemon whose parent has not reaped it counts as ended).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit(") ").next().is_some_and(|r| !r.starts_with('Z')))
}

fn cluster_cmd(args: &[&str]) -> Output {
    Command::new(local_cluster())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn local_cluster_start_is_idempotent_replaces_a_stale_one_and_stop_ends_what_it_started() {
    let dir = tempfile::Builder::new()
        .prefix("sk-slurm")
        .tempdir_in("/tmp")
        .unwrap();
    let state = dir.path().join("c");
    let s = state.to_str().unwrap();
    // A process to watch: the cluster must stop once it has ended.
    let mut watched = Command::new("sleep").arg("600").spawn().unwrap();
    let out = ok(
        cluster_cmd(&[
            "start",
            "--state-dir",
            s,
            "--watch-pid",
            &watched.id().to_string(),
        ]),
        "local-cluster start",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), s);
    let first = daemon_pids(&state);
    assert!(first.iter().all(|&p| alive(p)));
    let watchdog = || -> i32 {
        std::fs::read_to_string(state.join("run/watchdog.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let dog = watchdog();
    // Listening on 127.0.0.1 only: both ports in slurm.conf, bound to loopback.
    let conf = std::fs::read_to_string(state.join("slurm.conf")).unwrap();
    for key in ["SlurmctldPort=", "SlurmdPort="] {
        let port: u16 = conf
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
            "{key}{port}"
        );
    }
    assert!(conf.contains("CommunicationParameters=NoInAddrAny,NoCtldInAddrAny"));
    // Started again: the same daemons.
    ok(
        cluster_cmd(&["start", "--state-dir", s]),
        "local-cluster start (again)",
    );
    assert_eq!(daemon_pids(&state), first);
    // A stale cluster (slurmd killed): status says so, start replaces every daemon.
    assert_eq!(unsafe { libc::kill(first[2], libc::SIGKILL) }, 0);
    assert_eq!(cluster_cmd(&["status", s]).status.code(), Some(1));
    let out = ok(
        cluster_cmd(&["start", "--state-dir", s]),
        "local-cluster start (stale)",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("stale"));
    let second = daemon_pids(&state);
    assert!(second.iter().all(|&p| alive(p)) && second.iter().all(|p| !first.contains(p)));
    assert!(
        first.iter().all(|&p| !alive(p)),
        "a daemon of the stale cluster survived"
    );
    assert_eq!(
        watchdog(),
        dog,
        "the watchdog watches the caller, not the stale daemons"
    );
    assert!(alive(dog));
    ok(cluster_cmd(&["status", s]), "local-cluster status");
    // The watched process ends: the watchdog stops everything start recorded.
    watched.kill().unwrap();
    watched.wait().unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    while second.iter().chain([&dog]).any(|&p| alive(p)) {
        assert!(
            Instant::now() < until,
            "the watchdog did not stop the cluster within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(cluster_cmd(&["status", s]).status.code(), Some(1));
    // Stop of a stopped cluster is fine; of a folder that holds none, an error.
    ok(cluster_cmd(&["stop", s]), "local-cluster stop (stopped)");
    let out = cluster_cmd(&["stop", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no slurm.conf"));
}

#[test]
fn local_cluster_without_slurm_fails_in_one_line_naming_the_packages() {
    // /usr/sbin (munged, slurmctld, slurmd) left off PATH: what a machine without them sees.
    let out = Command::new(local_cluster())
        .arg("start")
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("local-cluster: munged not found") && err.contains("apt-get install slurm-wlm munge"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}
