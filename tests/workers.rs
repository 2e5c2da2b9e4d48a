//! `loadgen --workers N`: several event-loop threads give the same records as one — the same
//! request numbers and conversations, the same intended send times, the same token counts — and
//! the run info says how many ran and how each fared. Session workloads too: the same
//! conversations and turns, each turn carrying its own session's history, the session concurrency
//! kept, the same arrival ticks under a rate and the same per-user schedule.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{bin, MockServer};

fn mock() -> MockServer {
    MockServer::fixed("5", "1", &[])
}

/// Runs loadgen with `--workers n`; returns the records and the run info.
fn run(dir: &Path, url: &str, n: &str, load: &[&str]) -> (Vec<Value>, Value) {
    let records = dir.join(format!("r{n}.jsonl"));
    if records.exists() {
        panic!("one run per worker count and directory");
    }
    let ri = dir.join(format!("ri{n}.json"));
    let out = Command::new(bin("loadgen"))
        .args([
            "--url",
            url,
            "-m",
            "m",
            "--streaming",
            "--osl",
            "6",
            "--isl",
            "16",
        ])
        .args([
            "--random-seed",
            "7",
            "--num-prompts",
            "12",
            "--ui",
            "none",
            "--workers",
            n,
        ])
        .args([
            "--output",
            records.to_str().unwrap(),
            "--run-info-out",
            ri.to_str().unwrap(),
        ])
        .args(load)
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let recs = std::fs::read_to_string(&records)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        recs,
        serde_json::from_str(&std::fs::read_to_string(&ri).unwrap()).unwrap(),
    )
}

/// Per request number: conversation, output tokens, and (open loop) the intended send time
/// relative to the profiling start, in ns.
fn by_session(recs: &[Value], info: &Value) -> BTreeMap<u64, (String, f64, Option<u64>)> {
    let p0 = info["phases"]["profiling"]["start_ns"].as_u64().unwrap();
    let mut m = BTreeMap::new();
    let mut ids = std::collections::HashSet::new();
    for r in recs {
        assert!(r["error"].is_null(), "{r}");
        let md = &r["metadata"];
        assert!(
            ids.insert(md["x_request_id"].as_str().unwrap().to_string()),
            "duplicate id"
        );
        let prev = m.insert(
            md["session_num"].as_u64().unwrap(),
            (
                md["conversation_id"].as_str().unwrap().to_string(),
                r["metrics"]["output_sequence_length"]["value"].as_f64().unwrap(),
                md["scheduled_ns"].as_u64().map(|s| s - p0),
            ),
        );
        assert!(prev.is_none(), "request number twice: {md}");
    }
    m
}

fn per_worker_requests(info: &Value) -> Vec<u64> {
    let w = &info["client"]["workers"];
    let per: Vec<u64> = w["per_worker"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["requests"].as_u64().unwrap())
        .collect();
    assert_eq!(w["count"].as_u64().unwrap() as usize, per.len());
    per
}

#[test]
fn two_workers_give_the_records_of_one_closed_loop() {
    let m = mock();
    let tmp = tempfile::tempdir().unwrap();
    let load = ["--concurrency", "5", "--request-count", "40"];
    let (r1, i1) = run(tmp.path(), &m.url(), "1", &load);
    let (r2, i2) = run(tmp.path(), &m.url(), "2", &load);
    assert_eq!(r1.len(), 40);
    assert_eq!(by_session(&r1, &i1), by_session(&r2, &i2));
    assert_eq!(per_worker_requests(&i1), vec![40]);
    let per = per_worker_requests(&i2);
    // Concurrency 5 over 2 threads: 3 + 2 tasks; both threads sent.
    assert_eq!((per.len(), per.iter().sum::<u64>()), (2, 40), "{per:?}");
    assert!(per.iter().all(|&n| n > 0), "{per:?}");
}

#[test]
fn two_workers_keep_one_schedule_open_loop() {
    let m = mock();
    let tmp = tempfile::tempdir().unwrap();
    let load = [
        "--request-rate",
        "400",
        "--arrival-pattern",
        "poisson",
        "--request-count",
        "60",
    ];
    let (r1, i1) = run(tmp.path(), &m.url(), "1", &load);
    let (r2, i2) = run(tmp.path(), &m.url(), "2", &load);
    let (a, b) = (by_session(&r1, &i1), by_session(&r2, &i2));
    assert_eq!(a.len(), 60);
    // Identical intended send times, to the nanosecond, request by request.
    assert_eq!(a, b);
    assert!(a.values().all(|v| v.2.is_some()));
    // The schedule is dealt round-robin: 30 each.
    assert_eq!(per_worker_requests(&i2), vec![30, 30]);
    // Worker w sent schedule entries w, w + 2, ...: its median dispatch lag is one of its own
    // records' (to the histogram's 0.1 %), and its loop was busy for part of the run, never more.
    let mut sent: Vec<(u64, u64)> = r2
        .iter()
        .map(|r| {
            let md = &r["metadata"];
            (
                md["scheduled_ns"].as_u64().unwrap(),
                md["request_start_ns"].as_u64().unwrap(),
            )
        })
        .collect();
    sent.sort();
    for (w, p) in i2["client"]["workers"]["per_worker"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let lags: Vec<f64> = sent
            .iter()
            .skip(w)
            .step_by(2)
            .map(|(due, at)| (at - due) as f64 / 1e6)
            .collect();
        let (lo, hi) = lags
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), l| (lo.min(*l), hi.max(*l)));
        let p50 = p["dispatch_lag_ms"]["p50"].as_f64().unwrap();
        assert!(
            p50 >= lo * 0.99 - 0.001 && p50 <= hi * 1.01 + 0.001,
            "worker {w}: p50 {p50} ms outside its records' lags {lags:?}"
        );
        let busy = p["event_loop_busy"].as_f64().unwrap();
        assert!(busy > 0.0 && busy <= 1.0, "worker {w}: busy {busy}");
    }
}

#[test]
fn the_default_is_capped_by_the_concurrency() {
    let m = mock();
    let tmp = tempfile::tempdir().unwrap();
    let records = tmp.path().join("r.jsonl");
    let ri = tmp.path().join("ri.json");
    let out = Command::new(bin("loadgen"))
        .args([
            "--url",
            &m.url(),
            "-m",
            "m",
            "--concurrency",
            "1",
            "--request-count",
            "3",
        ])
        .args(["--ui", "none", "--output", records.to_str().unwrap()])
        .args(["--run-info-out", ri.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let info: Value = serde_json::from_str(&std::fs::read_to_string(&ri).unwrap()).unwrap();
    assert_eq!(per_worker_requests(&info), vec![3]);
    let bad = Command::new(bin("loadgen"))
        .args(["--url", &m.url(), "-m", "m", "--workers", "0"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--workers"));
}

/// Per-worker session counts from the run info.
fn per_worker_sessions(info: &Value) -> Vec<u64> {
    info["client"]["workers"]["per_worker"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sessions"].as_u64().unwrap())
        .collect()
}

/// Records grouped by session (`x_correlation_id`), each session's turns in turn order.
fn sessions_of(recs: &[Value]) -> BTreeMap<String, Vec<&Value>> {
    let mut m: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for r in recs {
        assert!(r["error"].is_null(), "{r}");
        let c = r["metadata"]["x_correlation_id"].as_str().unwrap().to_string();
        m.entry(c).or_default().push(r);
    }
    for turns in m.values_mut() {
        turns.sort_by_key(|r| r["metadata"]["turn_index"].as_u64().unwrap());
    }
    m
}

fn meta(r: &Value, key: &str) -> u64 {
    r["metadata"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {r}"))
}

/// Per conversation: its turns' (turn index, output tokens, input tokens of the first turn).
/// Each session of these runs is a distinct conversation, so this is the run's work, whichever
/// worker did it.
type Work = BTreeMap<String, Vec<(u64, f64, Option<f64>)>>;

fn work(recs: &[Value]) -> Work {
    let mut w = Work::new();
    for turns in sessions_of(recs).values() {
        let conv = turns[0]["metadata"]["conversation_id"].as_str().unwrap();
        let v = turns
            .iter()
            .map(|r| {
                let k = meta(r, "turn_index");
                let m = |t: &str| r["metrics"][t]["value"].as_f64().unwrap();
                // Later turns' ISL includes the replies (the mock's words), so only turn 0's.
                (
                    k,
                    m("output_sequence_length"),
                    (k == 0).then(|| m("input_sequence_length")),
                )
            })
            .collect();
        assert!(
            w.insert(conv.to_string(), v).is_none(),
            "conversation {conv} ran twice"
        );
    }
    w
}

/// Every turn's body (as the server received it) holds its own session's earlier turns: turn k
/// resends turn k−1's messages plus the reply, and the user messages of a (conversation, turn)
/// are returned for comparison across runs.
fn histories(recs: &[Value], truth: &Path) -> BTreeMap<(String, u64), Vec<String>> {
    // The mock writes its truth from a background thread as requests complete: a reply the client
    // has read may not be on disk yet, so wait (bounded) until every request is there.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let server: BTreeMap<String, Value> = loop {
        let server: BTreeMap<String, Value> = std::fs::read_to_string(truth)
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|r| (r["client_request_id"].as_str().unwrap().to_string(), r))
            .collect();
        let missing = recs
            .iter()
            .filter(|r| !server.contains_key(r["metadata"]["x_request_id"].as_str().unwrap()))
            .count();
        if missing == 0 {
            break server;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{missing} requests never reached the mock's record {}",
            truth.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let messages = |r: &Value| -> Vec<(String, String)> {
        let id = r["metadata"]["x_request_id"].as_str().unwrap();
        server[id]["request_body"]["messages"]
            .as_array()
            .unwrap_or_else(|| panic!("the server recorded no body for {id}"))
            .iter()
            .map(|m| {
                (
                    m["role"].as_str().unwrap().into(),
                    m["content"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let mut users = BTreeMap::new();
    for turns in sessions_of(recs).values() {
        let conv = turns[0]["metadata"]["conversation_id"].as_str().unwrap();
        let mut prev: Vec<(String, String)> = Vec::new();
        for (k, r) in turns.iter().enumerate() {
            assert_eq!(meta(r, "turn_index"), k as u64, "turns in order: {r}");
            let this = messages(r);
            assert_eq!(this.len(), prev.len() + 1 + usize::from(k > 0), "{this:?}");
            assert_eq!(
                &this[..prev.len()],
                &prev[..],
                "turn {k} of {conv} resends its history"
            );
            if k > 0 {
                assert_eq!(this[prev.len()].0, "assistant", "the reply is in the history");
            }
            let user = this
                .iter()
                .filter(|m| m.0 == "user")
                .map(|m| m.1.clone())
                .collect();
            users.insert((conv.to_string(), k as u64), user);
            prev = this;
        }
    }
    users
}

/// Most sessions in flight at once, a session holding its slot from its first turn's start to
/// its last turn's end.
fn most_sessions_in_flight(recs: &[Value]) -> usize {
    let mut edges = Vec::new();
    for turns in sessions_of(recs).values() {
        let start = turns.iter().map(|r| meta(r, "request_start_ns")).min().unwrap();
        let end = turns.iter().map(|r| meta(r, "request_end_ns")).max().unwrap();
        // At equal times an end comes first (a slot handed over is not two sessions).
        edges.push((start, 1i64));
        edges.push((end, -1i64));
    }
    edges.sort();
    let (mut now, mut most) = (0i64, 0i64);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    most as usize
}

fn recording_mock(truth: &Path) -> MockServer {
    MockServer::fixed(
        "5",
        "1",
        &["--record", truth.to_str().unwrap(), "--record-request-bodies"],
    )
}

/// Seeded synthetic conversations of 1 to 5 turns with a short think time.
const CONVERSATIONS: [&str; 8] = [
    "--conversation-turn-mean",
    "3",
    "--conversation-turn-stddev",
    "1",
    "--conversation-turn-delay-mean",
    "3",
    "--conversation-turn-delay-stddev",
    "1",
];

#[test]
fn two_workers_run_the_sessions_of_one_closed_loop() {
    let tmp = tempfile::tempdir().unwrap();
    let mut load = vec!["--concurrency", "3", "--conversation-num", "10"];
    load.extend(CONVERSATIONS);
    let mut runs = Vec::new();
    for n in ["1", "2"] {
        let truth = tmp.path().join(format!("truth{n}.jsonl"));
        let m = recording_mock(&truth);
        let (recs, info) = run(tmp.path(), &m.url(), n, &load);
        drop(m); // the record is complete once the mock is gone
        runs.push((histories(&recs, &truth), work(&recs), recs, info));
    }
    let (one, two) = (&runs[0], &runs[1]);
    // 10 sessions of the 12 conversations: the same ones, with the same turns and tokens.
    assert_eq!(one.1.len(), 10);
    assert!(one.1.values().any(|t| t.len() > 1) && one.1.values().any(|t| t.len() != 3));
    assert_eq!(one.1, two.1);
    // Each turn carried its own session's history, and the same user messages as one worker.
    assert_eq!(one.0, two.0);
    for (recs, info) in [(&one.2, &one.3), (&two.2, &two.3)] {
        let most = most_sessions_in_flight(recs);
        assert!(most <= 3, "{most} sessions in flight with --concurrency 3");
        assert_eq!(per_worker_sessions(info).iter().sum::<u64>(), 10);
    }
    // Three session slots over two threads (2 + 1): both started sessions.
    let per = per_worker_sessions(&two.3);
    assert_eq!(per.len(), 2);
    assert!(per.iter().all(|&n| n > 0), "{per:?}");
}

#[test]
fn two_workers_keep_the_session_arrivals_of_one_open_loop() {
    let tmp = tempfile::tempdir().unwrap();
    let m = mock();
    // Every tick is a turn: a session's next turn, else a new session (no session cap).
    let mut load = vec![
        "--request-rate",
        "150",
        "--arrival-pattern",
        "poisson",
        "--request-count",
        "45",
    ];
    load.extend(CONVERSATIONS);
    let (r1, i1) = run(tmp.path(), &m.url(), "1", &load);
    let (r2, i2) = run(tmp.path(), &m.url(), "2", &load);
    let ticks = |recs: &[Value], info: &Value| -> BTreeMap<u64, u64> {
        let p0 = info["phases"]["profiling"]["start_ns"].as_u64().unwrap();
        recs.iter()
            .map(|r| (meta(r, "session_num"), meta(r, "scheduled_ns") - p0))
            .collect()
    };
    let (a, b) = (ticks(&r1, &i1), ticks(&r2, &i2));
    assert_eq!(a.len(), 45);
    assert_eq!(a.keys().copied().collect::<Vec<_>>(), (0..45).collect::<Vec<_>>());
    // The same request numbers at the same intended send times, to the nanosecond.
    assert_eq!(a, b);
    // Several turns per session, and each session's turns in order on one worker.
    let s2 = sessions_of(&r2);
    assert!(s2.len() < 45 && s2.values().any(|t| t.len() > 1), "{}", s2.len());
    for turns in s2.values() {
        for (k, r) in turns.iter().enumerate() {
            assert_eq!(meta(r, "turn_index"), k as u64);
        }
    }
    let per = per_worker_sessions(&i2);
    assert_eq!(per.len(), 2, "{per:?}");
    assert_eq!(per.iter().sum::<u64>(), s2.len() as u64);
    assert!(per.iter().all(|&n| n > 0), "{per:?}");
}

#[test]
fn two_workers_keep_the_per_user_schedule() {
    let tmp = tempfile::tempdir().unwrap();
    let m = mock();
    // 4 users at 10 req/s: a user's turns are planned 400 ms apart (replies take ~15 ms).
    let load = [
        "--user-centric-rate",
        "10",
        "--num-users",
        "4",
        "--conversation-turn-mean",
        "3",
        "--conversation-num",
        "8",
    ];
    let (r1, i1) = run(tmp.path(), &m.url(), "1", &load);
    let (r2, i2) = run(tmp.path(), &m.url(), "2", &load);
    let schedule = |recs: &[Value], info: &Value| -> BTreeMap<String, Vec<(u64, u64)>> {
        let p0 = info["phases"]["profiling"]["start_ns"].as_u64().unwrap();
        sessions_of(recs)
            .into_iter()
            .map(|(user, turns)| {
                let t = turns
                    .iter()
                    .map(|r| (meta(r, "turn_index"), meta(r, "scheduled_ns") - p0))
                    .collect();
                (user, t)
            })
            .collect()
    };
    let (a, b) = (schedule(&r1, &i1), schedule(&r2, &i2));
    // Turn k + 1 is planned a gap (4 users / 10 req/s) after turn k, unless turn k's reply came back
    // later: then it goes when the reply is in. The plan is the program's (checked exactly), the
    // reply's return the OS's (checked "never before it", plus a generous late bound).
    let on_time = |recs: &[Value], info: &Value| -> bool {
        let p0 = info["phases"]["profiling"]["start_ns"].as_u64().unwrap();
        let mut all = true;
        for turns in sessions_of(recs).values() {
            for w in turns.windows(2) {
                let planned = meta(w[0], "scheduled_ns") - p0 + 400_000_000;
                let reply = meta(w[0], "request_end_ns") - p0;
                let sent = meta(w[1], "scheduled_ns") - p0;
                if reply <= planned {
                    assert_eq!(sent, planned, "turn {} on time", meta(w[1], "turn_index"));
                } else {
                    all = false;
                    let late_ns = crate::common::LATE_MS as u64 * 1_000_000;
                    assert!(sent >= reply && sent <= reply + late_ns, "{sent} after {reply}");
                }
            }
        }
        all
    };
    let (on1, on2) = (on_time(&r1, &i1), on_time(&r2, &i2));
    // Users' first turns never wait for a reply: the same in both runs, to the nanosecond; whole
    // schedules too when no reply came back late in either run (a loaded machine can delay one).
    let firsts = |s: &BTreeMap<String, Vec<(u64, u64)>>| -> Vec<(String, u64)> {
        s.iter().map(|(u, t)| (u.clone(), t[0].1)).collect()
    };
    assert_eq!(firsts(&a), firsts(&b));
    if on1 && on2 {
        assert_eq!(a, b);
    }
    assert_eq!(a.len(), 8, "{a:?}");
    assert_eq!(per_worker_sessions(&i1), vec![8]);
    // User u runs on worker u mod 2.
    let odd = a.keys().filter(|u| u.parse::<u64>().unwrap() % 2 == 1).count() as u64;
    assert_eq!(per_worker_sessions(&i2), vec![8 - odd, odd]);
    assert_eq!(work(&r1), work(&r2));
}

#[test]
fn two_workers_run_a_multi_turn_file_as_one() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("mt.jsonl");
    let lines: Vec<String> = (0..6)
        .map(|s| {
            let turns: Vec<String> = (0..2 + s % 3)
                .map(|k| format!(r#"{{"text":"session {s} turn {k}","delay":2}}"#))
                .collect();
            format!(r#"{{"session_id":"s{s}","turns":[{}]}}"#, turns.join(","))
        })
        .collect();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let load = [
        "--input-file",
        file.to_str().unwrap(),
        "--custom-dataset-type",
        "multi_turn",
        "--concurrency",
        "2",
    ];
    let mut runs = Vec::new();
    for n in ["1", "2"] {
        let truth = tmp.path().join(format!("truth{n}.jsonl"));
        let m = recording_mock(&truth);
        let (recs, info) = run(tmp.path(), &m.url(), n, &load);
        drop(m);
        assert_eq!(
            recs.len(),
            2 + 3 + 4 + 2 + 3 + 4,
            "every turn of every session once"
        );
        runs.push((histories(&recs, &truth), work(&recs), per_worker_sessions(&info)));
    }
    assert_eq!(runs[0].0, runs[1].0);
    assert_eq!(runs[0].1, runs[1].1);
    assert_eq!(
        runs[0].0[&("s4".to_string(), 2)],
        ["session 4 turn 0", "session 4 turn 1", "session 4 turn 2"]
    );
    assert_eq!(runs[1].2.len(), 2);
    assert!(runs[1].2.iter().all(|&n| n > 0), "{:?}", runs[1].2);
}

#[test]
fn two_workers_replay_a_session_trace_as_one() {
    let tmp = tempfile::tempdir().unwrap();
    let m = mock();
    let trace = crate::common::repo_root().join("tests/fixtures/traces/sessions.jsonl");
    let load = [
        "--input-file",
        trace.to_str().unwrap(),
        "--custom-dataset-type",
        "mooncake_trace",
        "--isl-block-size",
        "16",
        "--fixed-schedule",
        "--inter-turn-delay-cap-seconds",
        "0.4",
    ];
    let (r1, i1) = run(tmp.path(), &m.url(), "1", &load);
    let (r2, i2) = run(tmp.path(), &m.url(), "2", &load);
    // Per (conversation, turn): its intended send time on the trace clock (stamped turns only).
    let turns = |recs: &[Value], info: &Value| -> BTreeMap<(String, u64), Option<u64>> {
        let p0 = info["phases"]["profiling"]["start_ns"].as_u64().unwrap();
        let nums: std::collections::BTreeSet<u64> = recs.iter().map(|r| meta(r, "session_num")).collect();
        assert_eq!(nums, (0..8).collect(), "one request number per line, none twice");
        recs.iter()
            .map(|r| {
                let md = &r["metadata"];
                let key = (
                    md["conversation_id"].as_str().unwrap().to_string(),
                    meta(r, "turn_index"),
                );
                (key, md["scheduled_ns"].as_u64().map(|s| s - p0))
            })
            .collect()
    };
    let (a, b) = (turns(&r1, &i1), turns(&r2, &i2));
    assert_eq!(a.len(), 8);
    assert_eq!(a, b);
    assert_eq!(work(&r1), work(&r2));
    let per = per_worker_sessions(&i2);
    assert_eq!((per.len(), per.iter().sum::<u64>()), (2, 4), "{per:?}");
    assert!(per.iter().all(|&n| n > 0), "{per:?}");
}
