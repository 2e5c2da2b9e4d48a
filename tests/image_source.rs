//! `--image-source assets|DIR` and `--image-source-sampling`: images made from source files,
//! resized to AIPerf's drawn sizes and picked in AIPerf 0.13's order, checked on the server's
//! side (mock-llm's `--record` reads each image's size) and by the colour of each image sent.

use std::path::Path;

use sweepkit::io::media::source_image::decode;
use sweepkit::io::media::{data_url_bytes, jpeg, png};

use crate::common::{loadgen, read_json, recorded_loadgen, run, stderr, stdout};

/// The test folder: four solid colours (PNG and JPEG, written by sweepkit's encoders), a `.png`
/// that is not an image, and a text file that is not indexed. Sorted: a, b, c, d, e.
const COLOURS: [(&str, [u8; 3]); 4] = [
    ("a.png", [220, 20, 20]),
    ("b.jpg", [20, 200, 20]),
    ("c.png", [20, 20, 220]),
    ("d.jpg", [230, 230, 30]),
];

fn source_folder(dir: &Path) {
    for (name, rgb) in COLOURS {
        let pixels = rgb.repeat(30 * 20);
        let bytes = if name.ends_with(".png") {
            png::encode(30, 20, &pixels)
        } else {
            jpeg::encode(30, 20, &pixels, 85)
        };
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    std::fs::write(dir.join("e.png"), "not an image").unwrap();
    std::fs::write(dir.join("notes.txt"), "not indexed").unwrap();
}

/// The source file an image was made from, by its colour (the nearest of the four).
fn source_of(url: &str) -> &'static str {
    let img = decode(&data_url_bytes(url).expect("a data URL")).expect("a PNG");
    let px = img.get_pixel(img.width() / 2, img.height() / 2).0;
    let dist = |c: [u8; 3]| c.iter().zip(px).map(|(a, b)| a.abs_diff(b) as u32).sum::<u32>();
    COLOURS.iter().min_by_key(|(_, c)| dist(*c)).unwrap().0
}

/// Eight requests' images from the folder under each sampling, seed 7: the files are the ones
/// AIPerf 0.13's `ImageGenerator` picked for the same folder and seed (its output read back by
/// colour, in dataset order from inputs.json), `e.png` retired as unreadable under all three;
/// the server received 24x16 PNGs.
#[test]
fn each_sampling_picks_aiperfs_files_and_skips_the_unreadable_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    source_folder(&src);
    // python: rng.init(7); ImageGenerator(ImageConfig(batch_size=1, width=24, height=16,
    // format='png', source=Path(dir), source_sampling=s)).generate() x 8, mapped by colour.
    let aiperf = [
        (
            "random-with-replacement",
            [
                "d.jpg", "c.png", "d.jpg", "b.jpg", "b.jpg", "c.png", "b.jpg", "b.jpg",
            ],
        ),
        (
            "shuffle-cycle",
            [
                "a.png", "c.png", "b.jpg", "d.jpg", "c.png", "a.png", "b.jpg", "d.jpg",
            ],
        ),
        (
            "sequential-cycle",
            [
                "a.png", "b.jpg", "c.png", "d.jpg", "a.png", "b.jpg", "c.png", "d.jpg",
            ],
        ),
    ];
    for (sampling, want) in aiperf {
        let inputs = dir.path().join(format!("{sampling}-inputs.json"));
        let (server, _, _) = recorded_loadgen(
            dir.path(),
            sampling,
            &[
                "--random-seed",
                "7",
                "--isl",
                "8",
                "--osl",
                "2",
                "--num-prompts",
                "8",
                "--request-count",
                "8",
                "--concurrency",
                "1",
                "--image-source",
                src.to_str().unwrap(),
                "--image-source-sampling",
                sampling,
                "--image-width-mean",
                "24",
                "--image-height-mean",
                "16",
                "--image-format",
                "png",
                "--inputs-out",
                inputs.to_str().unwrap(),
            ],
        );
        let doc = read_json(&inputs);
        let sent: Vec<&str> = doc["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                source_of(
                    e["payloads"][0]["messages"][0]["content"][1]["image_url"]["url"]
                        .as_str()
                        .unwrap(),
                )
            })
            .collect();
        assert_eq!(sent, want, "{sampling}: AIPerf's files in AIPerf's order");
        assert_eq!(server.len(), 8);
        let mut got: Vec<&str> = Vec::new();
        for r in &server {
            assert_eq!(
                r["media"]["images"],
                serde_json::json!([[24, 16]]),
                "{sampling}: {}",
                r["media"]
            );
            let url = r["request_body"]["messages"][0]["content"][1]["image_url"]["url"]
                .as_str()
                .unwrap();
            assert!(url.starts_with("data:image/png;base64,"), "{sampling}");
            got.push(source_of(url));
        }
        let (mut got, mut want) = (got, want.to_vec());
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{sampling}: the server received the dataset's images");
    }
}

/// `--image-source assets`: AIPerf's bundled photos, resized to the drawn sizes (JPEG, the
/// default format), as the server reads them.
#[test]
fn bundled_assets_are_resized_to_the_drawn_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _, _) = recorded_loadgen(
        dir.path(),
        "assets",
        &[
            "--isl",
            "8",
            "--osl",
            "2",
            "--num-prompts",
            "3",
            "--request-count",
            "3",
            "--concurrency",
            "1",
            "--image-source",
            "assets",
            "--image-width-mean",
            "64",
            "--image-height-mean",
            "48",
            "--image-batch-size",
            "2",
        ],
    );
    assert_eq!(server.len(), 3);
    for r in &server {
        assert_eq!(
            r["media"]["images"],
            serde_json::json!([[64, 48], [64, 48]]),
            "{}",
            r["media"]
        );
        let url = r["request_body"]["messages"][0]["content"][1]["image_url"]["url"]
            .as_str()
            .unwrap();
        assert!(url.starts_with("data:image/jpeg;base64,"), "{url:.40}");
    }
}

/// Bad source flags: one line naming the flag, exit 2, in loadgen and in sweep-plan alike; a
/// good folder and sampling pass through sweep-plan into the plan line.
#[test]
fn bad_source_flags_name_the_flag_and_good_ones_reach_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let (empty, good) = (dir.path().join("empty"), dir.path().join("good"));
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("readme.md"), "no images").unwrap();
    std::fs::create_dir(&good).unwrap();
    source_folder(&good);
    let missing = dir.path().join("missing");
    let only_garbage = dir.path().join("garbage");
    std::fs::create_dir(&only_garbage).unwrap();
    std::fs::write(only_garbage.join("x.jpg"), "not an image").unwrap();
    let shape = ["--image-width-mean", "16", "--image-height-mean", "16"];
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--image-source", missing.to_str().unwrap()],
            format!("--image-source {}: no such folder", missing.display()),
        ),
        (
            vec!["--image-source", empty.to_str().unwrap()],
            format!("--image-source {}: no source images", empty.display()),
        ),
        (
            vec!["--image-source-sampling", "shuffle-cycle"],
            "--image-source-sampling shuffle-cycle: noise images have no finite source".into(),
        ),
        (
            vec![
                "--image-source",
                "noise",
                "--image-source-sampling",
                "sequential-cycle",
            ],
            "--image-source-sampling sequential-cycle: noise".into(),
        ),
        (
            vec!["--image-source-sampling", "sometimes"],
            "--image-source-sampling".into(),
        ),
    ];
    for (flags, want) in &cases {
        for tool in ["loadgen", "sweep-plan"] {
            let mut args = vec!["--url", "http://127.0.0.1:9", "-m", "m", "--request-count", "1"];
            args.extend(shape);
            args.extend(flags.iter().copied());
            let o = run(tool, &args);
            let e = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{tool} {flags:?}: {e}");
            assert!(e.contains(want.as_str()), "{tool} {flags:?}: {e}");
            if !want.ends_with("-sampling") {
                assert_eq!(e.trim().lines().count(), 1, "{tool}: one line: {e}");
            }
        }
    }
    // A folder whose every image file is unreadable: found out before any request (port 9 is
    // never contacted: the error is the folder's, not a connection's).
    let o = loadgen(&[
        "--url",
        "http://127.0.0.1:9",
        "-m",
        "m",
        "--ui",
        "none",
        "--request-count",
        "1",
        "--image-width-mean",
        "16",
        "--image-source",
        only_garbage.to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("no readable source images") && e.contains("x.jpg"),
        "{e}"
    );
    let o = run(
        "sweep-plan",
        &[
            "-m",
            "m",
            "--concurrency",
            "1,2",
            "--image-width-mean",
            "16",
            "--image-source",
            good.to_str().unwrap(),
            "--image-source-sampling",
            "shuffle-cycle",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan = crate::common::jsonl_of(stdout(&o).as_bytes());
    assert_eq!(plan.len(), 2);
    for line in &plan {
        assert_eq!(line["loadgen"]["image_source"], good.to_str().unwrap(), "{line}");
        assert_eq!(
            line["loadgen"]["image_source_sampling"], "shuffle-cycle",
            "{line}"
        );
    }
}
