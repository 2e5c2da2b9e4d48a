//! One real vLLM server for the whole `vllm` test binary: started lazily by the first test that
//! asks, shared by all (one test at a time: the server's counters are global), and stopped when the
//! test process ends, however it ends.
//!
//! The test harness has no "after all tests" hook and vLLM forks an engine-core child, so the server
//! runs under a small bash watchdog that leads its own process group. The watchdog's stdin is a pipe
//! whose only writer is this process (Rust's pipes are close-on-exec, so no other child holds it):
//! when the process exits, even by SIGKILL, the watchdog reads EOF, stops vLLM with SIGTERM, then
//! SIGKILLs the whole group. No orphan survives the test run.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The served model's name (`--served-model-name`).
pub const MODEL: &str = "tiny";
/// `--max-model-len`: a longer prompt must come back as vLLM's 400.
pub const MAX_MODEL_LEN: u64 = 4096;
/// How long a first start may take on a loaded 2-core machine (ready in 30–50 s when idle).
const READY_TIMEOUT: Duration = Duration::from_secs(600);

/// The watchdog: runs "$@" (vllm serve …) in the background, waits for either vLLM to exit or its
/// own stdin to reach EOF (the test process is gone), then stops vLLM and kills its process group.
const WATCHDOG: &str = r#"
"$@" </dev/null &
server=$!
exec 3<&0
cat <&3 >/dev/null &
reader=$!
wait -n "$server" "$reader"
kill -TERM "$server" 2>/dev/null
for _ in $(seq 150); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
kill -KILL 0
"#;

pub struct Vllm {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The model folder (its tokenizer is loadgen's `--tokenizer`).
    pub model_dir: PathBuf,
    /// The watchdog; holding it keeps its stdin pipe open for the life of this process.
    _watchdog: Mutex<Child>,
}

/// A shared server, held by one test at a time.
pub struct Session {
    pub vllm: &'static Vllm,
    _turn: MutexGuard<'static, ()>,
}

impl std::ops::Deref for Session {
    type Target = Vllm;
    fn deref(&self) -> &Vllm {
        self.vllm
    }
}

fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
    base.join("sweepkit")
}

/// scripts/install-vllm's venv: `$SWEEPKIT_VLLM_VENV`, else the cache default.
pub fn venv_dir() -> PathBuf {
    std::env::var_os("SWEEPKIT_VLLM_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("vllm-0.32.0"))
}

/// scripts/make-tiny-model's folder: `$SWEEPKIT_VLLM_MODEL`, else the cache default.
pub fn model_dir() -> PathBuf {
    std::env::var_os("SWEEPKIT_VLLM_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("tiny-llama"))
}

/// Why vLLM cannot be run here, if it cannot.
pub fn missing() -> Option<String> {
    let venv = venv_dir();
    let model = model_dir();
    if !venv.join(".sweepkit-vllm-complete").is_file() || !venv.join("bin/vllm").is_file() {
        return Some(format!("no complete vLLM install in {}", venv.display()));
    }
    if !model.join(".sweepkit-model-complete").is_file() {
        return Some(format!("no tiny model in {}", model.display()));
    }
    None
}

/// The shared server, started on first use, for the calling test alone until the Session drops.
/// vLLM missing is a failure naming the fix, unless `SWEEPKIT_ALLOW_SKIP` contains `vllm`: then
/// the test says on stderr that it skipped, and why, and gets None.
pub fn acquire(test: &str) -> Option<Session> {
    static SERVER: OnceLock<Result<Vllm, String>> = OnceLock::new();
    let turn = exclusive(test)?;
    match SERVER.get_or_init(start) {
        Ok(v) => Some(Session { vllm: v, _turn: turn }),
        Err(e) => panic!("{e}"),
    }
}

/// The machine to the calling test alone (no other vLLM test runs; the shared server, if started,
/// is idle), for a test that starts its own servers. None (a visible skip) or a failure as `acquire`.
pub fn exclusive(test: &str) -> Option<MutexGuard<'static, ()>> {
    static TURN: Mutex<()> = Mutex::new(());
    if let Some(why) = missing() {
        let allowed = std::env::var("SWEEPKIT_ALLOW_SKIP").is_ok_and(|v| v.contains("vllm"));
        if allowed {
            // Straight to fd 2, past the test harness's capture: a skip is always seen.
            let _ = writeln!(
                std::io::stderr(),
                "{test}: SKIPPED: {why} (SWEEPKIT_ALLOW_SKIP contains vllm)"
            );
            return None;
        }
        panic!("vLLM is missing: {why}: run scripts/install-test-deps (make test runs it), or set SWEEPKIT_ALLOW_SKIP=vllm to skip");
    }
    Some(TURN.lock().unwrap_or_else(|e| e.into_inner()))
}

fn free_port() -> u16 {
    // vLLM cannot report a port 0 it was given: take one the kernel calls free right now.
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

fn start() -> Result<Vllm, String> {
    let venv = venv_dir();
    let model_dir = model_dir();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vllm-server.log");
    let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(WATCHDOG)
        .arg("vllm-watchdog")
        .arg(venv.join("bin/vllm"))
        .arg("serve")
        .arg(&model_dir)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--served-model-name", MODEL, "--dtype", "bfloat16"])
        .args([
            "--max-model-len",
            &MAX_MODEL_LEN.to_string(),
            "--max-num-seqs",
            "16",
        ])
        .arg("--enable-prompt-tokens-details")
        .env("PATH", path)
        .env("VLLM_TARGET_DEVICE", "cpu")
        .env("VLLM_CPU_OMP_THREADS_BIND", "nobind")
        .env("VLLM_CPU_KVCACHE_SPACE", "1")
        .env("VLLM_SERVER_DEV_MODE", "1")
        .env("VLLM_NO_USAGE_STATS", "1")
        .env("DO_NOT_TRACK", "1")
        .env("HF_HUB_OFFLINE", "1")
        .env("TRANSFORMERS_OFFLINE", "1")
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start bash for vLLM: {e}"))?;
    let t0 = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "vLLM exited ({status}) before it was ready; its log ({}) ends:\n{}",
                log.display(),
                tail(&log, 30)
            ));
        }
        if get(&addr, "/health").is_some_and(|(code, _)| code == 200) {
            break;
        }
        if t0.elapsed() > READY_TIMEOUT {
            return Err(format!(
                "vLLM was not ready within {READY_TIMEOUT:?}; its log ({}) ends:\n{}",
                log.display(),
                tail(&log, 30)
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!(
        "vllm: server ready on {addr} after {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    Ok(Vllm {
        url: format!("http://{addr}"),
        addr,
        model_dir,
        _watchdog: Mutex::new(child),
    })
}

fn tail(p: &std::path::Path, n: usize) -> String {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One HTTP/1.1 exchange on a fresh connection: (status, body). None when the server is not there.
pub fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(120))).ok()?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let (code, _, body) = parse_response(&raw)?;
    Some((code, body))
}

pub fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    http(addr, "GET", path, None)
}

/// A whole HTTP/1.1 response read to EOF: (status, lower-cased head, body with chunking undone).
pub fn parse_response(raw: &[u8]) -> Option<(u16, String, String)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let rest = &raw[split + 4..];
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Some((code, head, String::from_utf8_lossy(&body).into_owned()))
}

/// A chunked body, joined (on bytes: a chunk may end inside a UTF-8 character).
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&rest[..eol]);
        let Ok(n) = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16) else {
            break;
        };
        let after = &rest[eol + 2..];
        if n == 0 || after.len() < n {
            break;
        }
        out.extend_from_slice(&after[..n]);
        rest = after[n..].strip_prefix(b"\r\n").unwrap_or(&after[n..]);
    }
    out
}

impl Vllm {
    /// `/metrics` parsed: (name, labels as `k="v",…`, value) per sample line.
    pub fn metrics(&self) -> Vec<(String, String, f64)> {
        let (code, text) = get(&self.addr, "/metrics").expect("GET /metrics");
        assert_eq!(code, 200, "GET /metrics: {text}");
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                let (name, labels) = match series.split_once('{') {
                    Some((n, rest)) => (n, rest.trim_end_matches('}')),
                    None => (series, ""),
                };
                Some((name.to_string(), labels.to_string(), value.parse().ok()?))
            })
            .collect()
    }

    /// Drops every cached prefix (`VLLM_SERVER_DEV_MODE=1` enables the route).
    pub fn reset_prefix_cache(&self) {
        let r = http(&self.addr, "POST", "/reset_prefix_cache", None).expect("POST /reset_prefix_cache");
        assert_eq!(r.0, 200, "POST /reset_prefix_cache: {}", r.1);
    }

    /// Waits until vLLM runs and queues nothing (a cancelled request may still be winding down).
    pub fn wait_idle(&self) {
        let t0 = Instant::now();
        loop {
            let m = self.metrics();
            let busy = sum_metric(&m, "vllm:num_requests_running", &[])
                + sum_metric(&m, "vllm:num_requests_waiting", &[]);
            if busy == 0.0 {
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(120),
                "vLLM still busy after 120 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

pub fn sum_metric(m: &[(String, String, f64)], name: &str, filter: &[&str]) -> f64 {
    m.iter()
        .filter(|(n, labels, _)| n == name && filter.iter().all(|f| labels.contains(f)))
        .map(|(_, _, v)| v)
        .sum()
}
