//! Raw RGB frames encoded to a WebM or MP4 file by the `ffmpeg` binary, as AIPerf 0.13 encodes its
//! synthetic videos (`ffmpeg -f rawvideo -pix_fmt rgb24 -s WxH -r FPS -i pipe: -f FMT -vcodec C
//! -pix_fmt yuv420p [-movflags faststart] OUT`). No Rust video encoder builds offline; the
//! frames go in through stdin and the video comes back from a temporary file, as in AIPerf: a
//! seekable output is what lets ffmpeg write WebM's duration and MP4's index up front. An audio
//! track goes in as AIPerf's does: a WAV file as a second input, `-acodec C -shortest`.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// What to tell a user without ffmpeg.
pub const INSTALL: &str =
    "install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg)";

/// One video to encode.
pub struct Encode<'a> {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// `webm` or `mp4`.
    pub format: &'a str,
    /// An ffmpeg encoder name (`libvpx-vp9` ...).
    pub codec: &'a str,
    /// Every frame's pixels, RGB, row by row, one frame after another.
    pub rgb: &'a [u8],
    /// ffmpeg is killed when it runs longer.
    pub timeout: Duration,
    /// A WAV file's bytes to mux as the audio track and the ffmpeg audio encoder (None: no track).
    pub audio: Option<(&'a [u8], &'a str)>,
}

/// Whether `ffmpeg -version` runs.
pub fn available() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The encoded file's bytes, or ffmpeg's last error line.
pub fn encode(e: &Encode) -> anyhow::Result<Vec<u8>> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let stem = std::env::temp_dir().join(format!("sweepkit-video-{}-{n}", std::process::id()));
    let out = stem.with_extension(e.format);
    let wav = stem.with_extension("wav");
    let result = match e.audio {
        Some((bytes, _)) => std::fs::write(&wav, bytes)
            .context("could not write the video's audio track to a temporary file")
            .and_then(|()| run(e, &out, Some(&wav))),
        None => run(e, &out, None),
    };
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&wav);
    result
}

fn run(e: &Encode, out: &std::path::Path, wav: Option<&std::path::Path>) -> anyhow::Result<Vec<u8>> {
    let size = format!("{}x{}", e.width, e.height);
    let fps = e.fps.to_string();
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-loglevel", "error", "-y"]).args([
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", &size, "-r", &fps, "-i", "pipe:0",
    ]);
    if let Some(wav) = wav {
        cmd.arg("-i").arg(wav);
    }
    cmd.args(["-f", e.format, "-vcodec", e.codec, "-pix_fmt", "yuv420p"]);
    if let (Some(_), Some((_, codec))) = (wav, e.audio) {
        cmd.args(["-acodec", codec, "-shortest"]);
    }
    if e.format == "mp4" {
        cmd.args(["-movflags", "faststart"]);
    }
    cmd.arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            bail!("the ffmpeg binary is not on PATH: {INSTALL}")
        }
        Err(err) => return Err(err).context("could not start ffmpeg"),
    };
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + e.timeout;
    std::thread::scope(|s| {
        // A failed write means ffmpeg quit early; its stderr says why.
        s.spawn(move || {
            let _ = stdin.write_all(e.rgb);
        });
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "ffmpeg took more than {} s; give a smaller or shorter video",
                    e.timeout.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .and_then(|status| {
        let text = errors.join().unwrap_or_default();
        if !status.success() {
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no message");
            bail!("ffmpeg failed ({status}): {}", last.trim());
        }
        let bytes = std::fs::read(out).context("ffmpeg wrote no video")?;
        if bytes.is_empty() {
            bail!("ffmpeg wrote an empty video");
        }
        Ok(bytes)
    })
}
