//! Images and audio in requests (`--image-*`, `--audio-*`): checked on the server's side, from
//! mock-llm's `--record`, which reads each image's size from its PNG/JPEG header and each clip's
//! length from its WAV header.

use crate::common::{jsonl, loadgen, ok, read_json, recorded_loadgen, run, MockServer};

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

/// A dataset line's media fixture (`tests/fixtures/media/`): `wide.png` 700x300 and
/// `photo.jpg` 640x480 made by Pillow (a zlib-compressed PNG, a baseline JPEG), `tone.wav`
/// 1.25 s of 16-bit mono 8 kHz made by Python's `wave`, `clip.mp4` 64 bytes (an `ftyp` box, zeros)
/// (the mock does not decode video).
fn media_fixture(name: &str) -> String {
    let p = crate::common::repo_root().join("tests/fixtures/media").join(name);
    p.to_str().unwrap().to_string()
}

/// A run of loadgen with `args` on `file` against a mock recording bodies: the server's records
/// in arrival order, inputs.json, and loadgen's output.
fn run_on_file(file: &std::path::Path, args: &[&str]) -> (Vec<serde_json::Value>, serde_json::Value) {
    let dir = file.parent().unwrap();
    let inputs = dir.join("inputs.json");
    let mut all = vec!["--concurrency", "1", "--input-file", file.to_str().unwrap()];
    all.extend(["--inputs-out", inputs.to_str().unwrap()]);
    all.extend_from_slice(args);
    let (seen, _, _) = recorded_loadgen(dir, "media", &all);
    (seen, read_json(&inputs))
}

/// AIPerf's `single_turn` media fields: local files (read, sent as a data URL of the file's own
/// bytes / `input_audio` of the WAV's bytes), a URL passed through, a media-only line; the mock
/// reads back each image's size, each clip's length and the video's bytes, and inputs.json holds
/// the bodies the server received.
#[test]
fn single_turn_media_files_reach_the_server_with_their_sizes() {
    use serde_json::json;
    use sweepkit::io::media::base64;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("d.jsonl");
    let (png, jpg, wav, mp4) = (
        media_fixture("wide.png"),
        media_fixture("photo.jpg"),
        media_fixture("tone.wav"),
        media_fixture("clip.mp4"),
    );
    let lines = [
        json!({"text": "describe", "image": png, "audio": wav}),
        json!({"texts": ["compare", "these"], "images": [jpg, "https://example.com/cat.png"]}),
        json!({"audios": [wav], "video": mp4}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let (seen, inputs) = run_on_file(&file, &["--request-count", "3", "--osl", "2"]);
    assert_eq!(seen.len(), 3, "one request per line");
    let media: Vec<&serde_json::Value> = seen.iter().map(|r| &r["media"]).collect();
    // 700x300 covers 2 tiles (85 + 2*170), 1.25 s is 2 started seconds (2*25).
    assert_eq!(
        media[0],
        &json!({"images": [[700, 300]], "audio_seconds": [1.25], "tokens": 425 + 50})
    );
    // 640x480 covers 2 tiles too; the URL is not fetched: its size is unknown, it costs the base 85.
    assert_eq!(
        media[1],
        &json!({"images": [[640, 480], null], "audio_seconds": [], "tokens": 425 + 85})
    );
    // The 64-byte clip.mp4 states no duration: it costs one started KiB (1 token).
    assert_eq!(
        media[2],
        &json!({"images": [], "audio_seconds": [1.25], "tokens": 50 + 1, "video_bytes": [64],
                "video_seconds": [null], "video_sizes": [null], "video_audio_channels": [null]})
    );
    let bytes = |p: &str| base64(&std::fs::read(p).unwrap());
    let content = |i: usize| seen[i]["request_body"]["messages"][0]["content"].clone();
    assert_eq!(
        content(0),
        json!([
            {"type": "text", "text": "describe"},
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{}", bytes(&png))}},
            {"type": "input_audio", "input_audio": {"data": bytes(&wav), "format": "wav"}},
        ])
    );
    assert_eq!(
        content(1)[2],
        json!({"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}})
    );
    assert!(content(1)[1]["image_url"]["url"]
        .as_str()
        .unwrap()
        .starts_with("data:image/jpeg;base64,/9j/"));
    assert_eq!(
        content(2)[1],
        json!({"type": "video_url", "video_url": {"url": format!("data:video/mp4;base64,{}", bytes(&mp4))}})
    );
    assert_eq!(
        content(2).as_array().unwrap().len(),
        2,
        "a media-only line has no text part"
    );
    // The client's image and audio metrics count the file's media: 1 and 2 images, 1.25 s clips.
    let records = dir.path().join("media-records.jsonl");
    let agg = ok(run("trial-agg", &[records.to_str().unwrap()]), "trial-agg");
    let summary: serde_json::Value = serde_json::from_slice(&agg.stdout).unwrap();
    assert_eq!(summary["num_images"]["avg"], 1.5, "{}", summary["num_images"]);
    assert_eq!(
        summary["audio_duration"]["avg"], 1.25,
        "{}",
        summary["audio_duration"]
    );
    for (i, r) in seen.iter().enumerate() {
        assert_eq!(
            inputs["data"][i]["payloads"][0]["messages"],
            r["request_body"]["messages"],
            "inputs.json holds line {}'s body as sent",
            i + 1
        );
    }
}

/// `multi_turn` turns name media too, and a later turn resends the earlier turn's image in its
/// history (as synthetic media are).
#[test]
fn multi_turn_media_files_are_carried_in_history() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mt.jsonl");
    let line = serde_json::json!({"session_id": "s", "turns": [
        {"text": "look", "image": media_fixture("wide.png")},
        {"text": "listen", "audio": media_fixture("tone.wav")},
    ]});
    std::fs::write(&file, format!("{line}\n")).unwrap();
    let (seen, _) = run_on_file(
        &file,
        &[
            "--custom-dataset-type",
            "multi_turn",
            "--request-count",
            "2",
            "--osl",
            "2",
        ],
    );
    let got: Vec<(&serde_json::Value, &serde_json::Value)> = seen
        .iter()
        .map(|r| (&r["media"]["images"], &r["media"]["audio_seconds"]))
        .collect();
    let (one, none) = (serde_json::json!([[700, 300]]), serde_json::json!([]));
    assert_eq!(got[0], (&one, &none), "turn 1: its image");
    assert_eq!(
        got[1],
        (&one, &serde_json::json!([1.25])),
        "turn 2: turn 1's image, then its clip"
    );
}

/// A media file that cannot be read, and media on an endpoint that cannot carry them: one line
/// naming the file:line and the field, exit 2, before any request.
#[test]
fn bad_media_in_a_dataset_name_the_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("d.jsonl");
    let good = serde_json::json!({"text": "a", "image": media_fixture("wide.png")});
    let missing = dir.path().join("gone.png");
    let bad = serde_json::json!({"text": "b", "images": [missing.to_str().unwrap()]});
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--url",
            "http://127.0.0.1:9",
            "-m",
            "m",
            "--ui",
            "none",
            "--input-file",
            file.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = loadgen(&args);
        let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        err
    };
    std::fs::write(&file, format!("{good}\n{bad}\n")).unwrap();
    let e = run(&[]);
    assert!(
        e.contains("d.jsonl:2: images \"") && e.contains("gone.png\": cannot read it"),
        "{e}"
    );
    std::fs::write(&file, format!("{good}\n")).unwrap();
    let e = run(&["--endpoint-type", "completions"]);
    assert!(
        e.contains("d.jsonl:1: image: the completions endpoint cannot carry images, audio or video"),
        "{e}"
    );
}

/// `single_turn` lines sharing a `session_id` are sent in order, each with its own media alone
/// (AIPerf's rule for that format: no history).
#[test]
fn single_turn_session_lines_send_each_lines_own_media() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.jsonl");
    let lines = [
        serde_json::json!({"session_id": "s", "text": "one", "image": media_fixture("wide.png")}),
        serde_json::json!({"session_id": "s", "text": "two", "image": media_fixture("photo.jpg")}),
    ];
    std::fs::write(&file, format!("{}\n{}\n", lines[0], lines[1])).unwrap();
    let (seen, _) = run_on_file(&file, &["--request-count", "2", "--osl", "2"]);
    let images: Vec<&serde_json::Value> = seen.iter().map(|r| &r["media"]["images"]).collect();
    assert_eq!(
        images,
        [&serde_json::json!([[700, 300]]), &serde_json::json!([[640, 480]])]
    );
}

/// `--audio-format mp3`: the server receives `input_audio` parts of format `mp3` whose frame
/// headers (read by the mock) give each clip's drawn length (plus at most three frames of
/// LAME's delay and padding), at the rate asked, charged by the mock's per-second rule.
#[test]
fn mp3_clips_reach_the_server_with_their_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("inputs.json");
    let (seen, records, _) = recorded_loadgen(
        dir.path(),
        "mp3",
        &[
            "--isl",
            "8",
            "--osl",
            "2",
            "--request-count",
            "4",
            "--concurrency",
            "1",
            "--audio-format",
            "mp3",
            "--audio-length-mean",
            "1.2",
            "--audio-length-stddev",
            "0.4",
            "--audio-sample-rates",
            "44.1",
            "--audio-num-channels",
            "2",
            "--inputs-out",
            inputs.to_str().unwrap(),
        ],
    );
    assert_eq!(seen.len(), 4);
    let mut sent: Vec<f64> = records
        .iter()
        .map(|r| {
            r["metrics"]["audio_duration"]["value"]
                .as_f64()
                .unwrap_or_else(|| panic!("{r}"))
        })
        .collect();
    let mut got: Vec<f64> = seen
        .iter()
        .map(|r| {
            r["media"]["audio_seconds"][0]
                .as_f64()
                .unwrap_or_else(|| panic!("{r}"))
        })
        .collect();
    sent.sort_by(f64::total_cmp);
    got.sort_by(f64::total_cmp);
    assert!(
        sent.windows(2).any(|w| w[0] != w[1]),
        "lengths are drawn: {sent:?}"
    );
    for (s, g) in sent.iter().zip(&got) {
        assert!(
            *g >= *s && *g <= s + 3.0 * 1152.0 / 44100.0,
            "sent {s} s, the server read {g} s"
        );
    }
    for r in &seen {
        let secs = r["media"]["audio_seconds"][0].as_f64().unwrap();
        assert_eq!(r["media"]["tokens"].as_f64(), Some(secs.ceil() * 25.0), "{r}");
    }
    let doc = read_json(&inputs);
    let part = &doc["data"][0]["payloads"][0]["messages"][0]["content"][1];
    assert_eq!(part["input_audio"]["format"], "mp3", "{part}");
    // An MP3 frame header at the start: 0xFF 0xFB (MPEG-1 layer III) is "//s" or "//v" in base64.
    assert!(
        part["input_audio"]["data"].as_str().unwrap().starts_with("//"),
        "{part}"
    );
}

/// `--video-*`: each request carries AIPerf's `video_url` part, a `data:video/<fmt>;base64,` URL
/// of a video ffmpeg encoded from sweepkit's frames; the mock reads its duration and frame size
/// from the WebM/MP4 header and charges 100 prompt tokens per started second.
#[test]
fn synthetic_videos_reach_the_server_with_their_duration_and_size() {
    crate::common::require_tool("ffmpeg", "-version", "ffmpeg");
    let dir = tempfile::tempdir().unwrap();
    for (format, codec, synth) in [
        ("webm", "libvpx-vp9", "moving_shapes"),
        ("mp4", "libx264", "grid_clock"),
    ] {
        let inputs = dir.path().join(format!("{format}.json"));
        let (seen, _, _) = recorded_loadgen(
            dir.path(),
            format,
            &[
                "--isl",
                "8",
                "--osl",
                "2",
                "--request-count",
                "2",
                "--concurrency",
                "1",
                "--video-width",
                "96",
                "--video-height",
                "64",
                "--video-fps",
                "4",
                "--video-duration",
                "1.5",
                "--video-format",
                format,
                "--video-codec",
                codec,
                "--video-synth-type",
                synth,
                "--inputs-out",
                inputs.to_str().unwrap(),
            ],
        );
        assert_eq!(seen.len(), 2);
        for r in &seen {
            let m = &r["media"];
            assert_eq!(m["video_sizes"], serde_json::json!([[96, 64]]), "{format}: {m}");
            let secs = m["video_seconds"][0].as_f64().unwrap_or_else(|| panic!("{m}"));
            // int(1.5 s x 4 fps) = 6 frames of 0.25 s: 1.5 s, give or take a frame.
            assert!((1.25..=1.75).contains(&secs), "{format}: {secs} s");
            assert_eq!(m["tokens"].as_f64(), Some(secs.ceil() * 100.0), "{format}: {m}");
        }
        let doc = read_json(&inputs);
        let content = &doc["data"][0]["payloads"][0]["messages"][0]["content"];
        assert_eq!(content[1]["type"], "video_url", "{format}");
        let url = content[1]["video_url"]["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("data:video/{format};base64,")),
            "{format}"
        );
    }
}

/// AIPerf's audio track: none by default; with `--video-audio-num-channels N` the server finds an
/// audio track of N channels in the header (WebM: Vorbis, MP4: Opus by default; a kHz rate and a
/// 24-bit WAV reach ffmpeg too).
#[test]
fn videos_carry_an_audio_track_only_when_channels_are_given() {
    crate::common::require_tool("ffmpeg", "-version", "ffmpeg");
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], serde_json::Value); 3] = [
        ("webm", &[], serde_json::json!([null])),
        (
            "webm",
            &[
                "--video-audio-num-channels",
                "1",
                "--video-audio-sample-rate",
                "16",
            ],
            serde_json::json!([1]),
        ),
        (
            "mp4",
            &["--video-audio-num-channels", "2", "--video-audio-depth", "24"],
            serde_json::json!([2]),
        ),
    ];
    for (i, (format, audio, want)) in cases.into_iter().enumerate() {
        let mut args = vec!["--isl", "8", "--osl", "2", "--request-count", "1"];
        args.extend(["--video-width", "64", "--video-height", "48", "--video-fps", "4"]);
        args.extend(["--video-duration", "1", "--video-format", format]);
        args.extend_from_slice(audio);
        let (seen, _, _) = recorded_loadgen(dir.path(), &format!("audio{i}"), &args);
        assert_eq!(seen.len(), 1);
        let m = &seen[0]["media"];
        assert_eq!(m["video_audio_channels"], want, "{format} {audio:?}: {m}");
        assert_eq!(m["video_sizes"], serde_json::json!([[64, 48]]), "{m}");
    }
}

/// Bad video flags give one line naming the flag (exit 2); sweep-plan accepts the flags too.
#[test]
fn bad_video_flags_name_the_flag() {
    let cases: [(&[&str], &str); 8] = [
        (&["--video-width", "64"], "--video-width needs --video-height"),
        (
            &[
                "--video-width",
                "64",
                "--video-height",
                "48",
                "--video-audio-codec",
                "aac",
            ],
            "--video-audio-codec aac: WebM holds",
        ),
        (
            &["--video-audio-num-channels", "3"],
            "--video-audio-num-channels 3",
        ),
        (&["--video-audio-sample-rate", "7"], "--video-audio-sample-rate 7"),
        (&["--video-audio-depth", "12"], "--video-audio-depth 12"),
        (
            &["--video-width", "64", "--video-height", "48", "--video-fps", "0"],
            "--video-fps 0",
        ),
        (
            &[
                "--video-width",
                "64",
                "--video-height",
                "48",
                "--video-codec",
                "libx264",
            ],
            "--video-codec libx264: WebM holds",
        ),
        (
            &[
                "--video-width",
                "64",
                "--video-height",
                "48",
                "--endpoint-type",
                "completions",
            ],
            "--video-width: the completions endpoint cannot carry",
        ),
    ];
    for (flags, want) in cases {
        let mut args = vec!["--url", "http://127.0.0.1:9", "-m", "m", "--ui", "none"];
        args.extend_from_slice(flags);
        let o = loadgen(&args);
        let err = crate::common::stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(want), "{flags:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    let o = loadgen(&[
        "--url",
        "http://127.0.0.1:9",
        "-m",
        "m",
        "--video-synth-type",
        "waves",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(crate::common::stderr(&o).contains("--video-synth-type"));
    let dir = tempfile::tempdir().unwrap();
    let plan = std::process::Command::new(crate::common::bin("sweep-plan"))
        .current_dir(dir.path())
        .args([
            "-m",
            "m",
            "--concurrency",
            "1,2",
            "--video-width",
            "64",
            "--video-height",
            "48",
        ])
        .args(["--video-format", "mp4", "--video-codec", "libx264"])
        .args(["--video-audio-num-channels", "2", "--video-audio-codec", "aac"])
        .args(["--video-audio-sample-rate", "48000", "--video-audio-depth", "24"])
        .output()
        .unwrap();
    assert!(plan.status.success(), "{}", crate::common::stderr(&plan));
    let out = crate::common::stdout(&plan);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines()
            .all(|l| l.contains("64") && l.contains("libx264") && l.contains("aac")),
        "each run carries the video flags: {out}"
    );
}
