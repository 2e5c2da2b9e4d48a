//! Synthetic images and audio, made as AIPerf 0.13's generators make them (`image.py`,
//! `audio.py`), deterministic per seed, and put into a chat body's user messages.
//!
//! Sizes, formats and durations come from AIPerf's own seeded streams
//! (`dataset.image.dimensions`, `dataset.image.format`, `dataset.audio.duration`), so a run asks
//! for the image sizes and clip lengths AIPerf asks for with the same seed. The pixels and samples
//! are AIPerf's kind (its default `noise` source: uniform random RGB; Gaussian noise of sd 0.3
//! clipped to [-1, 1]) from sweepkit's own generator: AIPerf draws them with NumPy and encodes with
//! Pillow/libsndfile, whose bytes sweepkit does not reproduce. The sample rate and depth of a clip
//! are drawn from AIPerf's stream name but not NumPy's algorithm (the same when one of each is given).
//! With `--image-source assets|DIR` the pixels are a source image resized to the drawn size,
//! picked in AIPerf's order (`source_images`).

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde_json::{Map, Value};

use super::content::{Part, UserContent};
use super::source_images::SourcePool;
use crate::contract::media::{AudioFormat, AudioSpec, ImageFormat, ImageSpec, MediaSpec, VideoSpec};
use crate::io::media::{base64, jpeg, mp3, png, wav};
use crate::loadgen::py_random::{child_seed, PyRandom};

/// Where an image's pixels come from.
enum Pixels {
    /// AIPerf's `dataset.image.noise` kind, from sweepkit's own generator.
    Noise(Box<StdRng>),
    /// `--image-source assets|DIR`.
    Sources(Box<SourcePool>),
}

/// Makes each turn's media, in dataset order.
pub struct MediaMaker {
    images: Option<(ImageSpec, PyRandom, PyRandom, Pixels)>,
    audio: Option<(AudioSpec, PyRandom, PyRandom, StdRng)>,
    video: Option<(VideoSpec, StdRng, StdRng)>,
}

impl MediaMaker {
    /// The makers of `spec`; an error when `--image-source DIR` cannot be indexed.
    pub fn new(spec: &MediaSpec, seed: u64) -> anyhow::Result<MediaMaker> {
        let derived = |s: &str| PyRandom::derived(seed, s);
        let own = |s: &str| StdRng::seed_from_u64(child_seed(seed, s));
        let images = match spec.images.clone() {
            None => None,
            Some(i) => {
                let pixels = match SourcePool::new(&i.source, i.sampling, seed)? {
                    Some(pool) => Pixels::Sources(Box::new(pool)),
                    None => Pixels::Noise(Box::new(own("dataset.image.noise"))),
                };
                let streams = (
                    derived("dataset.image.dimensions"),
                    derived("dataset.image.format"),
                );
                Some((i, streams.0, streams.1, pixels))
            }
        };
        Ok(MediaMaker {
            images,
            audio: spec.audio.clone().map(|a| {
                let streams = (derived("dataset.audio.duration"), derived("dataset.audio.format"));
                (a, streams.0, streams.1, own("dataset.audio.data"))
            }),
            video: spec
                .video
                .clone()
                .map(|v| (v, own("dataset.video.noise"), own("dataset.video.audio"))),
        })
    }

    /// Whether any media are made.
    pub fn is_on(&self) -> bool {
        self.images.is_some() || self.audio.is_some() || self.video.is_some()
    }

    /// One turn's media: `--image-batch-size` images, then `--audio-batch-size` clips, then
    /// `--video-batch-size` videos; an error when no source image is readable or ffmpeg could
    /// not make a video.
    pub fn parts(&mut self) -> anyhow::Result<Vec<Part>> {
        let mut parts = Vec::new();
        if let Some((spec, dims, format, pixels)) = &mut self.images {
            for _ in 0..spec.batch {
                parts.push(Part::Image(image(spec, dims, format, pixels)?.into()));
            }
        }
        if let Some((spec, duration, format, data)) = &mut self.audio {
            for _ in 0..spec.batch {
                let (clip, seconds) = audio(spec, duration, format, data);
                parts.push(Part::Audio {
                    data: clip.into(),
                    seconds: Some(seconds),
                });
            }
        }
        if let Some((spec, noise, sound)) = &mut self.video {
            for _ in 0..spec.batch {
                parts.push(Part::Video(super::video::video(spec, noise, sound)?.into()));
            }
        }
        Ok(parts)
    }

    /// The source files retired as unreadable so far (each with why), for a warning.
    pub fn skipped(&self) -> &[String] {
        match &self.images {
            Some((_, _, _, Pixels::Sources(pool))) => &pool.skipped,
            _ => &[],
        }
    }
}

/// One image as AIPerf's `ImageGenerator.generate` makes it: width then height from
/// `sample_positive_normal_integer(int(mean), int(stddev))`, the format (drawn for `random`),
/// noise pixels or a resized source image, as a `data:image/<fmt>;base64,` URL (JPEG at
/// AIPerf's quality 85, 4:4:4).
fn image(
    spec: &ImageSpec,
    dims: &mut PyRandom,
    format: &mut PyRandom,
    pixels: &mut Pixels,
) -> anyhow::Result<String> {
    let fmt = match spec.format {
        ImageFormat::Random => [ImageFormat::Png, ImageFormat::Jpeg][format.randbelow(2) as usize],
        f => f,
    };
    let w = dims.positive_normal_integer(spec.width.mean.trunc(), spec.width.stddev.trunc()) as u32;
    let h = dims.positive_normal_integer(spec.height.mean.trunc(), spec.height.stddev.trunc()) as u32;
    let rgb = match pixels {
        Pixels::Noise(noise) => {
            let mut rgb = vec![0u8; w as usize * h as usize * 3];
            for chunk in rgb.chunks_mut(8) {
                let word = noise.random::<u64>().to_le_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
            rgb
        }
        Pixels::Sources(pool) => pool.next_image(w, h)?,
    };
    let (name, bytes) = match fmt {
        ImageFormat::Png => ("png", png::encode(w, h, &rgb)),
        _ => ("jpeg", jpeg::encode(w, h, &rgb, jpeg::AIPERF_QUALITY)),
    };
    Ok(format!("data:image/{name};base64,{}", base64(&bytes)))
}

/// One clip as AIPerf's `AudioGenerator.generate` makes it: a length of at least 0.01 s from
/// `sample_normal`, a rate and a depth drawn from the lists, `int(length * rate)` frames of noise,
/// as `<wav|mp3>,<base64>`; and its length in seconds.
fn audio(
    spec: &AudioSpec,
    duration: &mut PyRandom,
    format: &mut PyRandom,
    data: &mut StdRng,
) -> (String, f64) {
    let (mean, sd) = (spec.length.mean, spec.length.stddev);
    let seconds = (0..10_000)
        .map(|_| duration.gauss(mean, sd))
        .find(|&x| x >= 0.01)
        .unwrap_or(mean.max(0.01));
    let pick = |r: &mut PyRandom, n: usize| r.randbelow(n as u32) as usize;
    let rate = (spec.sample_rates_khz[pick(format, spec.sample_rates_khz.len())] * 1000.0) as u32;
    let depth = spec.depths[pick(format, spec.depths.len())];
    let frames = (seconds * rate as f64) as usize;
    let normal = Normal::<f64>::new(0.0, 0.3).expect("a positive sd");
    let samples: Vec<f64> = (0..frames * spec.channels as usize)
        .map(|_| normal.sample(data).clamp(-1.0, 1.0))
        .collect();
    let (name, bytes) = match spec.format {
        AudioFormat::Wav => ("wav", wav::encode(rate, depth, spec.channels, &samples)),
        // The rate was checked against MP3's (contract::media::check): LAME cannot refuse it.
        AudioFormat::Mp3 => (
            "mp3",
            mp3::encode(rate, spec.channels, &samples).expect("an MP3 rate"),
        ),
    };
    (format!("{name},{}", base64(&bytes)), seconds)
}

/// Puts each message's parts into the last messages of a chat body: `tail[i]` is the content of
/// the i-th of the last `tail.len()` messages. A content without media is left as the body has it.
pub fn put_contents(payload: &mut Map<String, Value>, tail: &[&UserContent]) {
    let Some(Value::Array(msgs)) = payload.get_mut("messages") else {
        return;
    };
    let start = msgs.len().saturating_sub(tail.len());
    for (m, c) in msgs[start..].iter_mut().zip(tail) {
        if let (Value::Object(m), true) = (m, c.has_media()) {
            m.insert("content".into(), c.chat_content());
        }
    }
}

/// A text message and its media, shared (`Arc`) by every copy of the turn.
pub fn content(text: &str, media: Vec<Part>) -> UserContent {
    UserContent::with_media(Arc::<str>::from(text), media)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::media::Spread;
    use crate::io::media::{data_url_bytes, image_format, image_size, unbase64};

    fn spec(format: ImageFormat) -> MediaSpec {
        MediaSpec {
            images: Some(ImageSpec {
                batch: 2,
                width: Spread {
                    mean: 64.0,
                    stddev: 16.0,
                },
                height: Spread {
                    mean: 40.0,
                    stddev: 0.0,
                },
                format,
                source: Default::default(),
                sampling: Default::default(),
            }),
            audio: Some(AudioSpec {
                batch: 1,
                length: Spread {
                    mean: 0.5,
                    stddev: 0.1,
                },
                sample_rates_khz: vec![8.0],
                depths: vec![24],
                channels: 2,
                format: AudioFormat::Wav,
            }),
            video: None,
        }
    }

    /// The sizes follow AIPerf's streams (the same seed: the same sizes, another: others), the
    /// files are the format asked for, and the WAV holds the drawn length.
    #[test]
    fn media_are_deterministic_per_seed_and_as_asked() {
        let a = MediaMaker::new(&spec(ImageFormat::Png), 7)
            .unwrap()
            .parts()
            .unwrap();
        assert_eq!(
            a,
            MediaMaker::new(&spec(ImageFormat::Png), 7)
                .unwrap()
                .parts()
                .unwrap()
        );
        assert_ne!(
            a,
            MediaMaker::new(&spec(ImageFormat::Png), 8)
                .unwrap()
                .parts()
                .unwrap()
        );
        assert_eq!(a.len(), 3);
        let mut dims = PyRandom::derived(7, "dataset.image.dimensions");
        for p in &a[..2] {
            let Part::Image(url) = p else { panic!("{p:?}") };
            let bytes = data_url_bytes(url).unwrap();
            assert_eq!(image_format(&bytes), Some("png"));
            let w = dims.positive_normal_integer(64.0, 16.0) as u32;
            let h = dims.positive_normal_integer(40.0, 0.0) as u32;
            assert_eq!(image_size(&bytes), Some((w, h)));
        }
        let Part::Audio {
            data,
            seconds: Some(s),
        } = &a[2]
        else {
            panic!("{:?}", a[2])
        };
        let wav_bytes = unbase64(data.strip_prefix("wav,").unwrap()).unwrap();
        let info = wav::info(&wav_bytes).unwrap();
        assert_eq!((info.rate, info.channels, info.depth), (8000, 2, 24));
        assert!(
            (info.seconds - (s * 8000.0).trunc() / 8000.0).abs() < 1e-9,
            "{info:?} vs {s}"
        );
        let jpegs = MediaMaker::new(&spec(ImageFormat::Jpeg), 7)
            .unwrap()
            .parts()
            .unwrap();
        let Part::Image(url) = &jpegs[0] else { panic!() };
        assert!(url.starts_with("data:image/jpeg;base64,"));
        assert_eq!(image_format(&data_url_bytes(url).unwrap()), Some("jpeg"));
    }

    /// `--audio-format mp3`: `mp3,<base64>` clips whose frames state the rate, the channels and
    /// a length no shorter than the drawn one and at most three frames longer (LAME's padding).
    #[test]
    fn mp3_clips_hold_the_drawn_rate_channels_and_length() {
        let mut s = spec(ImageFormat::Png);
        s.images = None;
        let a = s.audio.as_mut().unwrap();
        (a.format, a.sample_rates_khz, a.batch) = (AudioFormat::Mp3, vec![22.05], 3);
        for p in MediaMaker::new(&s, 3).unwrap().parts().unwrap() {
            let Part::Audio {
                data,
                seconds: Some(s),
            } = p
            else {
                panic!("{p:?}")
            };
            let bytes = unbase64(data.strip_prefix("mp3,").unwrap()).unwrap();
            let info = mp3::info(&bytes).unwrap();
            assert_eq!((info.rate, info.channels), (22050, 2), "{info:?}");
            let over = info.seconds - s;
            assert!(
                (0.0..=3.0 * 576.0 / 22050.0).contains(&over),
                "{info:?} for {s} s"
            );
        }
    }

    /// AIPerf 0.13 with `rng.init(7)`: `ImageGenerator` (64±16 x 40±5, format random) made
    /// jpeg 47x43, jpeg 65x31, png 88x39, jpeg 25x49; `AudioGenerator` (0.5±0.2 s) drew
    /// 0.4631262721216147, 0.4152493489436855, 0.732131636606455 s.
    #[test]
    fn sizes_formats_and_lengths_are_aiperfs_for_the_seed() {
        let spec = MediaSpec {
            images: Some(ImageSpec {
                batch: 4,
                width: Spread {
                    mean: 64.0,
                    stddev: 16.0,
                },
                height: Spread {
                    mean: 40.0,
                    stddev: 5.0,
                },
                format: ImageFormat::Random,
                source: Default::default(),
                sampling: Default::default(),
            }),
            audio: Some(AudioSpec {
                batch: 3,
                length: Spread {
                    mean: 0.5,
                    stddev: 0.2,
                },
                sample_rates_khz: vec![16.0],
                depths: vec![16],
                channels: 1,
                format: AudioFormat::Wav,
            }),
            video: None,
        };
        let parts = MediaMaker::new(&spec, 7).unwrap().parts().unwrap();
        let images: Vec<(&str, (u32, u32))> = parts[..4]
            .iter()
            .map(|p| {
                let Part::Image(url) = p else { panic!("{p:?}") };
                let bytes = data_url_bytes(url).unwrap();
                (image_format(&bytes).unwrap(), image_size(&bytes).unwrap())
            })
            .collect();
        assert_eq!(
            images,
            [
                ("jpeg", (47, 43)),
                ("jpeg", (65, 31)),
                ("png", (88, 39)),
                ("jpeg", (25, 49))
            ]
        );
        let seconds: Vec<f64> = parts[4..]
            .iter()
            .map(|p| match p {
                Part::Audio { seconds: Some(s), .. } => *s,
                _ => panic!("{p:?}"),
            })
            .collect();
        assert_eq!(
            seconds,
            [0.4631262721216147, 0.4152493489436855, 0.732131636606455]
        );
    }
}
