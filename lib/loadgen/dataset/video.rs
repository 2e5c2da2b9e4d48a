//! Synthetic videos as AIPerf 0.13's `VideoGenerator` makes them: `int(duration * fps)` frames of
//! moving shapes (its red circle, green square and blue circle on their paths), a grid clock (its
//! grid, hands, dial and centre dot; the "Frame N" caption is left out: no font) or noise (the
//! `dataset.video.noise` stream), encoded by the `ffmpeg` binary and sent as a
//! `data:video/<fmt>;base64,` URL. The shapes are AIPerf's, drawn by sweepkit (not Pillow's
//! exact pixels); the encoded bytes are ffmpeg's, so they differ from AIPerf's too. With
//! `--video-audio-num-channels 1|2` a Gaussian noise track (sd 0.3, clipped; the
//! `dataset.video.audio` stream) as long as the video is muxed in, as AIPerf's
//! `_generate_audio_data` makes it (its samples are NumPy's, not reproduced).

use std::f64::consts::PI;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::RngExt;
use rand_distr::{Distribution, Normal};

use crate::contract::media::{VideoAudio, VideoSpec, VideoSynth};
use crate::io::media::{base64, ffmpeg, wav};

/// The longest one video's encoding may take.
const ENCODE_TIMEOUT: Duration = Duration::from_secs(300);

/// One frame being drawn: RGB pixels, row by row.
struct Canvas<'a> {
    w: i64,
    h: i64,
    px: &'a mut [u8],
}

impl Canvas<'_> {
    fn fill(&mut self, rgb: [u8; 3]) {
        for p in self.px.chunks_mut(3) {
            p.copy_from_slice(&rgb);
        }
    }

    fn set(&mut self, x: i64, y: i64, rgb: [u8; 3]) {
        if (0..self.w).contains(&x) && (0..self.h).contains(&y) {
            let i = ((y * self.w + x) * 3) as usize;
            self.px[i..i + 3].copy_from_slice(&rgb);
        }
    }

    /// Every pixel whose centre `inside` accepts, within the box `[x0, x1] x [y0, y1]`.
    fn paint(
        &mut self,
        (x0, y0, x1, y1): (f64, f64, f64, f64),
        rgb: [u8; 3],
        inside: impl Fn(f64, f64) -> bool,
    ) {
        for y in (y0.floor() as i64).max(0)..=(y1.ceil() as i64).min(self.h - 1) {
            for x in (x0.floor() as i64).max(0)..=(x1.ceil() as i64).min(self.w - 1) {
                if inside(x as f64, y as f64) {
                    self.set(x, y, rgb);
                }
            }
        }
    }

    /// Pillow's `ellipse(box, fill)` (or a ring of `width` with `outline`) for a circle.
    fn circle(&mut self, cx: f64, cy: f64, r: f64, rgb: [u8; 3], ring: Option<f64>) {
        let inner = ring.map_or(-1.0, |w| r - w);
        self.paint((cx - r, cy - r, cx + r, cy + r), rgb, |x, y| {
            let d = (x - cx).hypot(y - cy);
            d <= r && d > inner
        });
    }

    /// A line of `width` pixels from (ax, ay) to (bx, by).
    fn line(&mut self, (ax, ay): (f64, f64), (bx, by): (f64, f64), width: f64, rgb: [u8; 3]) {
        let half = (width / 2.0).max(0.5);
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = (dx * dx + dy * dy).max(1e-9);
        let bounds = (
            ax.min(bx) - half,
            ay.min(by) - half,
            ax.max(bx) + half,
            ay.max(by) + half,
        );
        self.paint(bounds, rgb, |x, y| {
            let t = (((x - ax) * dx + (y - ay) * dy) / len2).clamp(0.0, 1.0);
            (x - ax - t * dx).hypot(y - ay - t * dy) <= half
        });
    }
}

/// AIPerf's `_generate_moving_shapes_frames`: each shape starts somewhere and moves by a fixed
/// step per frame, wrapping around the edges.
fn moving_shapes(c: &mut Canvas, frame: u64, total: u64) {
    let (w, h, n, f) = (c.w as f64, c.h as f64, total as f64, frame as f64);
    c.fill([0, 0, 0]);
    let shapes = [
        (
            true,
            [255, 0, 0],
            30.0,
            (0.0, (c.h / 2) as f64),
            (w / n * 2.0, 0.0),
        ),
        (
            false,
            [0, 255, 0],
            25.0,
            ((c.w / 2) as f64, 0.0),
            (0.0, h / n * 2.0),
        ),
        (true, [0, 0, 255], 20.0, (w, h), (-w / n * 1.5, -h / n * 1.5)),
    ];
    for (round, rgb, size, (x0, y0), (dx, dy)) in shapes {
        let (x, y) = ((x0 + dx * f).rem_euclid(w), (y0 + dy * f).rem_euclid(h));
        let half = (size / 2.0_f64).floor();
        if round {
            c.circle(x, y, half, rgb, None);
        } else {
            c.paint((x - half, y - half, x + half, y + half), rgb, |_, _| true);
        }
    }
}

/// AIPerf's `_generate_grid_clock_frames`: a grey grid every 32 px, an hour hand (yellow) and a
/// minute hand (white) turning once over the video, a grey dial and a red centre.
fn grid_clock(c: &mut Canvas, frame: u64, total: u64) {
    c.fill([32, 32, 32]);
    let (w, h) = (c.w, c.h);
    for x in (0..w).step_by(32) {
        c.line((x as f64, 0.0), (x as f64, h as f64), 1.0, [64, 64, 64]);
    }
    for y in (0..h).step_by(32) {
        c.line((0.0, y as f64), (w as f64, y as f64), 1.0, [64, 64, 64]);
    }
    let (cx, cy) = ((w / 2) as f64, (h / 2) as f64);
    let radius = (w.min(h) / 4) as f64;
    let angle = frame as f64 / total as f64 * 2.0 * PI;
    let hand = |a: f64, len: f64| {
        (
            cx + radius * len * (a - PI / 2.0).cos(),
            cy + radius * len * (a - PI / 2.0).sin(),
        )
    };
    c.line((cx, cy), hand(angle / 12.0, 0.6), 3.0, [255, 255, 0]);
    c.line((cx, cy), hand(angle, 0.9), 2.0, [255, 255, 255]);
    c.circle(cx, cy, radius, [128, 128, 128], Some(2.0));
    c.circle(cx, cy, 3.0, [255, 0, 0], None);
}

/// All frames of one video, RGB, one after another.
pub fn frames(spec: &VideoSpec, noise: &mut StdRng) -> Vec<u8> {
    let total = spec.frames();
    let per = spec.width as usize * spec.height as usize * 3;
    let mut rgb = vec![0u8; per * total as usize];
    for (k, px) in rgb.chunks_mut(per).enumerate() {
        let mut c = Canvas {
            w: spec.width as i64,
            h: spec.height as i64,
            px,
        };
        match spec.synth {
            VideoSynth::MovingShapes => moving_shapes(&mut c, k as u64, total),
            VideoSynth::GridClock => grid_clock(&mut c, k as u64, total),
            VideoSynth::Noise => {
                for chunk in c.px.chunks_mut(8) {
                    chunk.copy_from_slice(&noise.random::<u64>().to_le_bytes()[..chunk.len()]);
                }
            }
        }
    }
    rgb
}

/// The audio track as AIPerf's `_generate_audio_data` makes it: `int(duration * rate)` frames of
/// Gaussian noise (sd 0.3, clipped to [-1, 1]) as a WAV of the track's rate, depth and channels.
pub fn audio_track(spec: &VideoSpec, audio: &VideoAudio, rng: &mut StdRng) -> Vec<u8> {
    let frames = (spec.duration * audio.rate as f64) as usize;
    let normal = Normal::<f64>::new(0.0, 0.3).expect("a positive sd");
    let samples: Vec<f64> = (0..frames * audio.channels as usize)
        .map(|_| normal.sample(rng).clamp(-1.0, 1.0))
        .collect();
    wav::encode(audio.rate, audio.depth, audio.channels, &samples)
}

/// One video as a `data:video/<fmt>;base64,` URL; an error names the flag to change. `sound` is
/// the `dataset.video.audio` stream, drawn only when the video has an audio track.
pub fn video(spec: &VideoSpec, noise: &mut StdRng, sound: &mut StdRng) -> anyhow::Result<String> {
    let rgb = frames(spec, noise);
    let track = spec.audio.map(|a| (audio_track(spec, &a, sound), a.codec.name()));
    let bytes = ffmpeg::encode(&ffmpeg::Encode {
        width: spec.width,
        height: spec.height,
        fps: spec.fps,
        format: spec.format.name(),
        codec: spec.codec.name(),
        rgb: &rgb,
        timeout: ENCODE_TIMEOUT,
        audio: track.as_ref().map(|(wav, codec)| (wav.as_slice(), *codec)),
    })
    .map_err(|e| {
        let audio = track
            .as_ref()
            .map_or(String::new(), |(_, c)| format!(" --video-audio-codec {c}"));
        anyhow::anyhow!(
            "--video-width {}x{} --video-format {} --video-codec {}{audio}: {e:#}",
            spec.width,
            spec.height,
            spec.format.name(),
            spec.codec.name()
        )
    })?;
    Ok(format!(
        "data:video/{};base64,{}",
        spec.format.name(),
        base64(&bytes)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::media::{VideoCodec, VideoFormat};
    use rand::SeedableRng;

    fn spec(synth: VideoSynth) -> VideoSpec {
        VideoSpec {
            batch: 1,
            width: 96,
            height: 64,
            fps: 4,
            duration: 1.0,
            format: VideoFormat::Webm,
            codec: VideoCodec::Vp9,
            synth,
            audio: None,
        }
    }

    fn pixel(rgb: &[u8], s: &VideoSpec, frame: usize, x: usize, y: usize) -> [u8; 3] {
        let i = ((frame * s.height as usize + y) * s.width as usize + x) * 3;
        rgb[i..i + 3].try_into().unwrap()
    }

    /// AIPerf's paths: frame 0 has the red circle at (0, h/2) and the green square at (w/2, 0);
    /// by frame 1 the red circle has moved w/total*2 = 48 px right.
    #[test]
    fn moving_shapes_start_and_move_where_aiperfs_do() {
        let s = spec(VideoSynth::MovingShapes);
        let rgb = frames(&s, &mut StdRng::seed_from_u64(0));
        assert_eq!(rgb.len(), 4 * 96 * 64 * 3, "int(1 s x 4 fps) frames");
        assert_eq!(pixel(&rgb, &s, 0, 2, 32), [255, 0, 0]);
        assert_eq!(pixel(&rgb, &s, 0, 48, 3), [0, 255, 0]);
        assert_eq!(pixel(&rgb, &s, 0, 48, 32), [0, 0, 0], "the background");
        assert_eq!(pixel(&rgb, &s, 1, 34, 32), [255, 0, 0]);
        assert_eq!(pixel(&rgb, &s, 1, 2, 32), [0, 0, 0]);
    }

    /// The grid clock: grid lines every 32 px, a red centre; noise differs per seed only.
    #[test]
    fn grid_clock_and_noise_frames() {
        let s = spec(VideoSynth::GridClock);
        let rgb = frames(&s, &mut StdRng::seed_from_u64(0));
        assert_eq!(pixel(&rgb, &s, 0, 32, 5), [64, 64, 64]);
        assert_eq!(pixel(&rgb, &s, 0, 20, 5), [32, 32, 32]);
        assert_eq!(pixel(&rgb, &s, 2, 48, 32), [255, 0, 0]);
        let n = spec(VideoSynth::Noise);
        let a = frames(&n, &mut StdRng::seed_from_u64(1));
        assert_eq!(a, frames(&n, &mut StdRng::seed_from_u64(1)));
        assert_ne!(a, frames(&n, &mut StdRng::seed_from_u64(2)));
    }

    /// The audio track's WAV: int(1 s x 8000 Hz) frames of the track's channels and depth, the
    /// same samples for the same seed only.
    #[test]
    fn the_audio_track_is_a_wav_as_long_as_the_video() {
        use crate::contract::media::VideoAudioCodec;
        let s = spec(VideoSynth::MovingShapes);
        let a = VideoAudio {
            rate: 8000,
            channels: 2,
            depth: 24,
            codec: VideoAudioCodec::Libvorbis,
        };
        let wav = audio_track(&s, &a, &mut StdRng::seed_from_u64(1));
        assert_eq!(wav.len(), 44 + 8000 * 2 * 3);
        let info = crate::io::media::wav::info(&wav).unwrap();
        assert_eq!(
            (info.rate, info.channels, info.depth, info.seconds),
            (8000, 2, 24, 1.0)
        );
        assert_eq!(wav, audio_track(&s, &a, &mut StdRng::seed_from_u64(1)));
        assert_ne!(wav, audio_track(&s, &a, &mut StdRng::seed_from_u64(2)));
    }
}
