//! AIPerf 0.13's other sweep types: `scenarios` (named runs, `--variant`) and `sobol` (quasi-random
//! points, a sweep file), planned by sweep-plan, run by scripts/profile on mock-llm and read by
//! sweep-agg and pareto.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::common::{bin, stderr, stdout};

fn plan_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin("sweep-plan"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run sweep-plan")
}

fn lines(o: &Output) -> Vec<Value> {
    assert!(o.status.success(), "sweep-plan: {}", stderr(o));
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The fields a scenario decides: label, parameters, folder, seed and the settings loadgen gets.
fn place(l: &Value) -> Value {
    let g = &l["loadgen"];
    json!({
        "run": l["run_index"], "trial": l["trial"], "label": l["variation_label"],
        "parameters": l["parameters"], "dir": l["artifact_dir"], "seed": l["seed"],
        "isl": g["isl"], "osl": g["osl"], "concurrency": g["concurrency"], "request_rate": g["request_rate"],
    })
}

#[test]
fn a_three_scenario_plan_is_the_hand_written_one() {
    let tmp = tempfile::tempdir().unwrap();
    let o = plan_in(
        tmp.path(),
        &[
            "-m",
            "llama",
            "--concurrency",
            "2",
            "--osl",
            "16",
            "--num-profile-runs",
            "2",
            "--variant",
            "short: isl=128, osl=64",
            "--variant",
            "long: prompt-input-tokens-mean=2048, concurrency=8",
            "--sweep-variant",
            "request_rate=2.5",
        ],
    );
    let got: Vec<Value> = lines(&o).iter().map(place).collect();
    let b = "artifacts/llama-openai-chat-scenarios_sweep/profile_runs";
    // AIPerf's order (repeated: trials outer, runs inner), seeds 42 + run index, a run's own values
    // over the shared ones, `v2` for the unnamed third run.
    let want = [
        (
            0,
            1,
            "short",
            json!({"isl": 128, "osl": 64}),
            42,
            128,
            64,
            2,
            Value::Null,
        ),
        (
            1,
            1,
            "long",
            json!({"isl": 2048, "concurrency": 8}),
            43,
            2048,
            16,
            8,
            Value::Null,
        ),
        (2, 1, "v2", json!({"request_rate": 2.5}), 44, 0, 16, 2, json!(2.5)),
        (
            3,
            2,
            "short",
            json!({"isl": 128, "osl": 64}),
            42,
            128,
            64,
            2,
            Value::Null,
        ),
        (
            4,
            2,
            "long",
            json!({"isl": 2048, "concurrency": 8}),
            43,
            2048,
            16,
            8,
            Value::Null,
        ),
        (5, 2, "v2", json!({"request_rate": 2.5}), 44, 0, 16, 2, json!(2.5)),
    ]
    .map(|(run, trial, label, params, seed, isl, osl, conc, rate)| {
        json!({
            "run": run, "trial": trial, "label": label, "parameters": params,
            "dir": format!("{b}/trial_000{trial}/{label}"), "seed": seed,
            "isl": if isl == 0 { Value::Null } else { json!(isl) }, "osl": osl, "concurrency": conc,
            "request_rate": rate,
        })
    });
    assert_eq!(got, want);

    // Independent order: all trials of a run before the next, the folder first.
    let o = plan_in(
        tmp.path(),
        &[
            "-m",
            "llama",
            "--num-profile-runs",
            "2",
            "--parameter-sweep-mode",
            "independent",
            "--variant",
            "a: isl=1",
            "--variant",
            "b: isl=2",
        ],
    );
    let dirs: Vec<String> = lines(&o)
        .iter()
        .map(|l| l["artifact_dir"].as_str().unwrap().to_string())
        .collect();
    let b = "artifacts/llama-openai-chat-scenarios_sweep";
    assert_eq!(
        dirs,
        [
            format!("{b}/a/profile_runs/trial_0001"),
            format!("{b}/a/profile_runs/trial_0002"),
            format!("{b}/b/profile_runs/trial_0001"),
            format!("{b}/b/profile_runs/trial_0002"),
        ]
    );
}

/// sweep-plan's one-line error for these arguments (exit 2).
fn plan_error(args: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let o = plan_in(tmp.path(), args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    let e = stderr(&o);
    assert_eq!(e.trim_end().lines().count(), 1, "one line: {e}");
    assert!(e.starts_with("sweep-plan: "), "{e}");
    e.trim_end().to_string()
}

#[test]
fn bad_scenarios_get_one_line_errors_naming_the_variant() {
    let e = plan_error(&["-m", "m", "--variant", "a: isl=1", "--variant", "b: bogus=3"]);
    assert!(
        e.contains("--variant 'b: bogus=3': 'bogus' is not a setting a variant can change"),
        "{e}"
    );
    let e = plan_error(&["-m", "m", "--variant", "a: isl=1"]);
    assert!(e.contains("--variant: a single variant is not a sweep"), "{e}");
    let e = plan_error(&["-m", "m", "--variant", "a: isl=1", "--variant", "a: isl=2"]);
    assert!(e.contains("the name 'a' is used twice"), "{e}");
    let e = plan_error(&["-m", "m", "--variant", "a: isl=1", "--variant", "../up: isl=2"]);
    assert!(
        e.contains("--variant '../up: isl=2': name '../up' is not path-safe"),
        "{e}"
    );
    let e = plan_error(&[
        "-m",
        "m",
        "--variant",
        "a: concurrency=x",
        "--variant",
        "b: isl=2",
    ]);
    assert!(e.contains("concurrency=x: not a whole number"), "{e}");
    // The run's settings are checked as loadgen checks them, the variant named.
    let e = plan_error(&[
        "-m",
        "m",
        "--variant",
        "a: concurrency=0",
        "--variant",
        "b: isl=2",
    ]);
    assert!(e.contains("--variant 'a': --concurrency 0"), "{e}");
    // Comma lists are a grid: AIPerf refuses them beside --variant.
    let e = plan_error(&[
        "-m",
        "m",
        "--concurrency",
        "1,2",
        "--variant",
        "a: isl=1",
        "--variant",
        "b: isl=2",
    ]);
    assert!(
        e.contains("--concurrency: a comma list is a grid sweep, and --variant already declares the runs"),
        "{e}"
    );
}

/// The plan's (folder, parameters) per variation (its first trial) for a sweep file; loadgen's
/// settings carry the values.
fn sobol_plan(dir: &Path, file: &Path, extra: &[&str]) -> Vec<(String, Value)> {
    let mut args = vec!["-m", "m", "--sweep-config", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    lines(&plan_in(dir, &args))
        .iter()
        .filter(|l| l["trial"] == 1)
        .map(|l| {
            let label = l["variation_label"].as_str().unwrap().to_string();
            assert!(
                l["artifact_dir"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("-sobol_sweep/{label}")),
                "{l}"
            );
            for (k, v) in l["parameters"].as_object().unwrap() {
                assert_eq!(&l["loadgen"][k], v, "{k} reaches loadgen: {l}");
            }
            (label, l["parameters"].clone())
        })
        .collect()
}

#[test]
fn sobol_plans_equal_aiperfs_own_expansion() {
    // tests/fixtures/sobol/<case>.expected.jsonl: AIPerf 0.13's expand_sweep (scipy's Sobol) on the
    // same block; make_expected.py there says how. Scrambled with a seed, unscrambled with 5 (not
    // a power of 2) samples, and log/linear, int/real and choices dimensions; d is a YAML config.
    let tmp = tempfile::tempdir().unwrap();
    let fx = crate::common::repo_root().join("tests/fixtures/sobol");
    for file in ["a.json", "b.json", "c.json", "d.yaml"] {
        let case = &file[..1];
        let got = sobol_plan(tmp.path(), &fx.join(file), &[]);
        let want: Vec<(String, Value)> = crate::common::jsonl(&fx.join(format!("{case}.expected.jsonl")))
            .iter()
            .map(|e| (e["dir_name"].as_str().unwrap().to_string(), e["values"].clone()))
            .collect();
        assert_eq!(got, want, "case {case}");
    }
    // Without a seed in the file the plan's seed draws the scramble (AIPerf would draw a fresh one).
    let unseeded = tmp.path().join("a.json");
    let text = std::fs::read_to_string(fx.join("a.json"))
        .unwrap()
        .replace("\"seed\": 7,", "");
    std::fs::write(&unseeded, text).unwrap();
    assert_eq!(
        sobol_plan(tmp.path(), &unseeded, &["--random-seed", "7"]),
        sobol_plan(tmp.path(), &fx.join("a.json"), &[])
    );
    assert_ne!(
        sobol_plan(tmp.path(), &unseeded, &[]),
        sobol_plan(tmp.path(), &fx.join("a.json"), &[])
    );
}

#[test]
fn latin_hypercube_plans_equal_aiperfs_own_expansion() {
    // tests/fixtures/latin_hypercube/<case>.expected.jsonl: AIPerf 0.13's expand_sweep (scipy's
    // LatinHypercube) on the same block; make_expected.py there says how. a: no optimization;
    // b, c: random-cd, whose accepted swaps depend on every draw and float operation.
    let tmp = tempfile::tempdir().unwrap();
    let fx = crate::common::repo_root().join("tests/fixtures/latin_hypercube");
    for file in ["a.yaml", "b.yaml", "c.json"] {
        let path = fx.join(file);
        let args = ["-m", "m", "--sweep-config", path.to_str().unwrap()];
        let got: Vec<(String, Value)> = lines(&plan_in(tmp.path(), &args))
            .iter()
            .map(|l| {
                let label = l["variation_label"].as_str().unwrap().to_string();
                let dir = l["artifact_dir"].as_str().unwrap();
                assert!(dir.contains(&format!("-latin_hypercube_sweep/{label}")), "{l}");
                for (k, v) in l["parameters"].as_object().unwrap() {
                    assert_eq!(&l["loadgen"][k], v, "{k} reaches loadgen: {l}");
                }
                (label, l["parameters"].clone())
            })
            .collect();
        let want: Vec<(String, Value)> =
            crate::common::jsonl(&fx.join(format!("{}.expected.jsonl", &file[..1])))
                .iter()
                .map(|e| (e["dir_name"].as_str().unwrap().to_string(), e["values"].clone()))
                .collect();
        assert_eq!(got, want, "case {file}");
    }
    let tmp_file = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let f = tmp_file(
        "lloyd.yaml",
        "type: latin_hypercube\nsamples: 4\noptimization: lloyd\ndimensions: [{path: isl, lo: 1, hi: 900, kind: int}]\n",
    );
    let e = plan_error(&["-m", "m", "--sweep-config", &f]);
    assert!(
        e.contains(&format!("{f}:")) && e.contains("\"lloyd\" is not supported"),
        "{e}"
    );
    let f = tmp_file(
        "scramble.yaml",
        "type: latin_hypercube\nsamples: 4\nscramble: false\ndimensions: [{path: isl, lo: 1, hi: 900, kind: int}]\n",
    );
    let e = plan_error(&["-m", "m", "--sweep-config", &f]);
    assert!(e.contains("scramble is a sobol key"), "{e}");
}

#[test]
fn a_yaml_config_sets_the_seed_trials_and_order_of_the_plan() {
    // d.yaml: randomSeed 3, multiRun.numRuns 2 with 0.5 s between trials, iteration_order
    // independent; the same text named .yml plans the same.
    let tmp = tempfile::tempdir().unwrap();
    let d = crate::common::repo_root().join("tests/fixtures/sobol/d.yaml");
    let yml = tmp.path().join("d.yml");
    std::fs::copy(&d, &yml).unwrap();
    for file in [&d, &yml] {
        let l = lines(&plan_in(
            tmp.path(),
            &["-m", "m", "--sweep-config", file.to_str().unwrap()],
        ));
        assert_eq!(l.len(), 16, "8 points x 2 trials");
        let order: Vec<(u64, u64, u64)> = l
            .iter()
            .map(|l| {
                let n = |k: &str| l[k].as_u64().unwrap();
                (n("variation_index"), n("trial"), n("seed"))
            })
            .collect();
        // Independent: both trials of a point before the next; seed = 3 + the point's index.
        let want: Vec<(u64, u64, u64)> = (0..8).flat_map(|v| [(v, 1, 3 + v), (v, 2, 3 + v)]).collect();
        assert_eq!(order, want);
        assert_eq!(l[1]["cooldown_seconds"], 0.5, "between trials: {}", l[1]);
    }
    // A flag that disagrees with the file is refused; one that agrees is fine.
    let f = d.to_str().unwrap();
    let e = plan_error(&["-m", "m", "--sweep-config", f, "--num-profile-runs", "3"]);
    assert!(
        e.contains("multi_run.num_runs (2) and --num-profile-runs (3) disagree"),
        "{e}"
    );
    assert_eq!(
        lines(&plan_in(
            tmp.path(),
            &["-m", "m", "--sweep-config", f, "--random-seed", "3"]
        ))
        .len(),
        16
    );
}

#[test]
fn bad_yaml_files_get_one_line_errors_naming_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let f = file("bad.yaml", "sweep:\n  type: sobol\n  samples: 4\n   seed: 1\n");
    let e = plan_error(&["-m", "m", "--sweep-config", &f]);
    assert!(e.contains(&format!("{f}:4:")), "malformed: {e}");
    let f = file(
        "typo.yml",
        "sweep:\n  type: sobol\n  samples: 4\n  dimensoins: []\n",
    );
    let e = plan_error(&["-m", "m", "--sweep-config", &f]);
    assert!(
        e.contains(&format!("{f}:4:")) && e.contains("unknown field `dimensoins`"),
        "{e}"
    );
    let f = file("aiperf.yaml", "benchmark:\n  model: m\nsweep:\n  type: sobol\n");
    let e = plan_error(&["-m", "m", "--sweep-config", &f]);
    assert!(
        e.contains(&format!("{f}:2:"))
            && e.contains("benchmark: sweep-plan takes the workload from its flags"),
        "{e}"
    );
    let f = file(
        "samples.yaml",
        "type: sobol\nsamples: 0\ndimensions: [{path: isl, lo: 1, hi: 9, kind: int}]\n",
    );
    let e = plan_error(&["-m", "m", "--sweep-config", &f]);
    assert!(
        e.contains(&format!("{f}:")) && e.contains("samples must be 2"),
        "{e}"
    );
    let f = file("grid.yaml", "type: grid\nparameters: {concurrency: [1, 2]}\n");
    let e = plan_error(&["-m", "m", "--sweep-config", &f]);
    assert!(e.contains("comma lists"), "{e}");
}

#[test]
fn bad_sobol_files_get_one_line_errors_naming_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let f = file("hi.json", "{\"type\": \"sobol\", \"samples\": 4,\n \"dimensions\": [\n  {\"path\": \"concurrency\", \"lo\": 8, \"hi\": 2, \"kind\": \"int\"}]}");
    let e = plan_error(&["-m", "m", "--sweep-config", &f]);
    assert!(
        e.contains(&format!("{f}:3:")) && e.contains("dimension 'concurrency': hi (2) must be > lo (8)"),
        "{e}"
    );
    let f = file("typo.json", "{\"type\": \"sobol\",\n \"sampels\": 4}");
    let e = plan_error(&["-m", "m", "--sweep-config", &f]);
    assert!(
        e.contains(&format!("{f}:2:")) && e.contains("unknown field `sampels`"),
        "{e}"
    );
    let e = plan_error(&[
        "-m",
        "m",
        "--sweep-config",
        &tmp.path().join("none.json").display().to_string(),
    ]);
    assert!(
        e.contains("--sweep-config") && e.contains("none.json: cannot read"),
        "{e}"
    );
    // Two points rounding to one concurrency would share a folder: refused, both named.
    let f = file(
        "narrow.json",
        r#"{"type": "sobol", "samples": 8, "seed": 1, "dimensions": [{"path": "concurrency", "lo": 1, "hi": 3, "kind": "int"}]}"#,
    );
    let e = plan_error(&["-m", "m", "--sweep-config", &f]);
    assert!(
        e.contains("are the same run (concurrency_") && e.contains("would share a folder"),
        "{e}"
    );
    // A point's settings are checked as loadgen checks them, the point named.
    let f = file(
        "zero.json",
        r#"{"type": "sobol", "samples": 2, "scramble": false, "dimensions": [{"path": "concurrency", "lo": 0, "hi": 4, "kind": "int"}]}"#,
    );
    let e = plan_error(&["-m", "m", "--sweep-config", &f]);
    assert!(
        e.contains("sobol point 0 (concurrency_0): --concurrency 0"),
        "{e}"
    );
}

#[test]
fn profile_runs_scenarios_and_sobol_end_to_end_and_sweep_agg_reads_them() {
    use crate::common::{profile_cmd, read_json, MockServer};
    let mock = MockServer::start(&["--ttft-ms", "0", "--itl-ms", "0"]);
    let tmp = tempfile::tempdir().unwrap();
    let common = [
        "-m",
        "m",
        "--url",
        mock.addr.as_str(),
        "--streaming",
        "--ui",
        "none",
        "--no-server-metrics",
        "--request-count",
        "3",
        "--isl",
        "16",
        "--osl",
        "4",
    ];
    let o = profile_cmd(tmp.path())
        .args(common)
        .args([
            "--num-profile-runs",
            "2",
            "--variant",
            "small: concurrency=1",
            "--variant",
            "big: concurrency=2, isl=32",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "profile: {}", stderr(&o));
    let base = tmp.path().join("artifacts/m-openai-chat-scenarios_sweep");
    // Each scenario's confidence aggregate is in a folder named after it (AIPerf's layout), 2 trials each.
    for (name, params) in [
        ("small", json!({"concurrency": 1})),
        ("big", json!({"concurrency": 2, "isl": 32})),
    ] {
        let a = read_json(
            &base
                .join("aggregate")
                .join(name)
                .join("profile_export_aiperf_aggregate.json"),
        );
        assert_eq!(a["metadata"]["variation_label"], name);
        assert_eq!(a["metadata"]["variation_values"], params);
        assert_eq!(a["metadata"]["num_successful_runs"], 2, "{name}");
    }
    let s = read_json(&base.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    assert_eq!(s["metadata"]["num_combinations"], 2);
    let p = read_json(&base.join("sweep_aggregate/pareto.json"));
    assert_eq!(p["points"].as_array().unwrap().len(), 2, "{p}");
    // sweep-agg from the folder alone (no plan) tells the scenarios apart by their folders too.
    let again = tmp.path().join("again");
    let o = Command::new(bin("sweep-agg"))
        .arg(&base)
        .args(["--output-dir", again.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "sweep-agg: {}", stderr(&o));
    let mut found = Vec::new();
    let mut stack = vec![again.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            match e.path().is_dir() {
                true => stack.push(e.path()),
                false if e.file_name() == "profile_export_aiperf_sweep.json" => found.push(e.path()),
                false => {}
            }
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(read_json(&found[0])["metadata"]["num_combinations"], 2);

    // Three sobol points, one trial each: three run folders as planned, three combinations.
    let sweep = tmp.path().join("sobol.json");
    std::fs::write(&sweep, r#"{"type": "sobol", "samples": 3, "seed": 5, "dimensions": [{"path": "concurrency", "lo": 1, "hi": 8, "kind": "int"}, {"path": "request_rate", "lo": 50, "hi": 100}]}"#).unwrap();
    let o = profile_cmd(tmp.path())
        .args(common)
        .args(["--sweep-config", sweep.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "profile: {}", stderr(&o));
    let base = tmp.path().join("artifacts/m-openai-chat-sobol_sweep");
    let plan = crate::common::jsonl(&base.join("plan.jsonl"));
    assert_eq!(plan.len(), 3);
    for l in &plan {
        let dir = Path::new(l["artifact_dir"].as_str().unwrap());
        let dir = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            tmp.path().join(dir)
        };
        assert!(
            dir.join("profile_export_aiperf.json").is_file(),
            "{}",
            dir.display()
        );
    }
    let s = read_json(&base.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    assert_eq!(s["metadata"]["num_combinations"], 3);
}
