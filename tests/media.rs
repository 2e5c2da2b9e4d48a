//! Images and audio in requests (`--image-*`, `--audio-*`): checked on the server's side, from
//! mock-llm's `--record`, which reads each image's size from its PNG/JPEG header and each clip's
//! length from its WAV header.

use crate::common::{jsonl, loadgen, ok, read_json, run, MockServer};

/// Two-turn sessions with two 100x60 PNGs and one 0.5 s clip per turn: the first turn's request
/// carries its own media, the second also its history's, each image as asked and charged by the
/// mock's stated rule; inputs.json holds AIPerf's content parts.
#[test]
fn images_and_audio_reach_the_server_with_their_sizes_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth.jsonl");
    let mock = MockServer::start(&[
        "--ttft-ms",
        "0",
        "--itl-ms",
        "0",
        "--record",
        truth.to_str().unwrap(),
    ]);
    let (records, inputs) = (dir.path().join("r.jsonl"), dir.path().join("inputs.json"));
    let url = mock.url();
    ok(
        loadgen(&[
            "--url",
            &url,
            "-m",
            "m",
            "--ui",
            "none",
            "--isl",
            "16",
            "--osl",
            "3",
            "--conversation-num",
            "2",
            "--conversation-turn-mean",
            "2",
            "--concurrency",
            "1",
            "--image-batch-size",
            "2",
            "--image-width-mean",
            "100",
            "--image-height-mean",
            "60",
            "--image-format",
            "png",
            "--audio-length-mean",
            "0.5",
            "--audio-sample-rates",
            "8",
            "-o",
            records.to_str().unwrap(),
            "--inputs-out",
            inputs.to_str().unwrap(),
        ]),
        "loadgen with media",
    );
    drop(mock);
    let seen = jsonl(&truth);
    assert_eq!(seen.len(), 4, "2 sessions x 2 turns");
    let mut counts: Vec<usize> = Vec::new();
    for r in &seen {
        let m = &r["media"];
        let images = m["images"].as_array().unwrap();
        let audio = m["audio_seconds"].as_array().unwrap();
        assert!(images.iter().all(|i| i == &serde_json::json!([100, 60])), "{m}");
        assert!(audio.iter().all(|a| a.as_f64() == Some(0.5)), "{m}");
        assert_eq!(audio.len() * 2, images.len(), "{m}");
        // 100x60 is one tile: 85 + 170 tokens an image; 0.5 s is one started second: 25 tokens.
        let cost = images.len() as u64 * (85 + 170) + audio.len() as u64 * 25;
        assert_eq!(m["tokens"].as_u64(), Some(cost), "{m}");
        assert!(
            r["prompt_tokens"].as_u64().unwrap() > cost,
            "the text counts too: {r}"
        );
        counts.push(images.len());
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        [2, 2, 4, 4],
        "a second turn resends the first turn's images"
    );
    assert_eq!(jsonl(&records).len(), 4);
    // AIPerf's image and audio metrics, summarized by trial-agg under AIPerf's tags and units.
    let agg = ok(run("trial-agg", &[records.to_str().unwrap()]), "trial-agg");
    let summary: serde_json::Value = serde_json::from_slice(&agg.stdout).unwrap();
    assert_eq!(
        summary["num_images"]["avg"], 3.0,
        "2 and 4 images: {}",
        summary["num_images"]
    );
    assert_eq!(summary["num_images"]["unit"], "images");
    assert_eq!(summary["audio_duration"]["avg"], 0.5);
    for (tag, unit) in [
        ("image_throughput", "images/sec"),
        ("image_latency", "ms/image"),
        ("rtfx", "ratio"),
    ] {
        assert_eq!(summary[tag]["unit"], unit, "{tag}: {}", summary[tag]);
        assert!(
            summary[tag]["avg"].as_f64().unwrap() > 0.0,
            "{tag}: {}",
            summary[tag]
        );
    }
    let doc = read_json(&inputs);
    let content = &doc["data"][0]["payloads"][0]["messages"][0]["content"];
    let kinds: Vec<&str> = content
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["text", "image_url", "image_url", "input_audio"]);
    assert!(content[1]["image_url"]["url"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,iVBOR"));
    assert_eq!(content[3]["input_audio"]["format"], "wav");
}

/// Media are deterministic per seed: two runs with the same seed send the same bodies.
#[test]
fn the_same_seed_sends_the_same_media() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockServer::start(&["--ttft-ms", "0", "--itl-ms", "0"]);
    let url = mock.url();
    let run = |name: &str, seed: &str| {
        let inputs = dir.path().join(name);
        let r = dir.path().join(format!("{name}.jsonl"));
        ok(
            loadgen(&[
                "--url",
                &url,
                "-m",
                "m",
                "--ui",
                "none",
                "--isl",
                "8",
                "--osl",
                "2",
                "--request-count",
                "3",
                "--num-prompts",
                "3",
                "--image-width-mean",
                "40",
                "--image-width-stddev",
                "10",
                "--audio-length-mean",
                "0.2",
                "--random-seed",
                seed,
                "-o",
                r.to_str().unwrap(),
                "--inputs-out",
                inputs.to_str().unwrap(),
            ]),
            "loadgen",
        );
        std::fs::read_to_string(inputs).unwrap()
    };
    let (a, b, c) = (run("a.json", "5"), run("b.json", "5"), run("c.json", "6"));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(
        a.contains("data:image/jpeg;base64,"),
        "jpeg is the default format"
    );
}
