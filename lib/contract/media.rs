//! The image and audio settings (AIPerf 0.13's `--image-*` and `--audio-*` flags) and how AIPerf
//! resolves them: a modality is on once one of its shape flags is given (its batch size then
//! defaults to 1, its size to AIPerf's config defaults: 512 x 512 pixels, 10 s of audio), and the
//! rules that refuse what cannot run, each naming its flag.

use anyhow::bail;
use serde::{Deserialize, Serialize};

use crate::io::media::mp3;

/// `--image-format`: how synthetic images are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    Png,
    /// AIPerf's effective default (its config's, used when the flag is not given).
    #[default]
    Jpeg,
    /// PNG or JPEG, drawn per image.
    Random,
}

/// `--audio-format`: how synthetic audio is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AudioFormat {
    #[default]
    Wav,
    /// MPEG layer III through LAME, at one of [`mp3::RATES`].
    Mp3,
}

/// `--image-source-sampling`: how images are picked from a finite source (`assets` or a folder),
/// AIPerf's `ImageSourceSamplingStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SourceSampling {
    /// Each image drawn independently (`random.choice` on the `dataset.image.source` stream).
    #[default]
    RandomWithReplacement,
    /// Every image once per cycle, in an order NumPy's `shuffle` draws on the same stream.
    ShuffleCycle,
    /// The images in sorted order, wrapping.
    SequentialCycle,
}

/// `--image-source`: where an image's pixels come from (AIPerf's `ImageSource | Path`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ImageSource {
    /// Uniform random RGB pixels (AIPerf's default).
    #[default]
    Noise,
    /// AIPerf's four bundled source images (CC0 photos of the Getty's collection).
    Assets,
    /// A folder of images, indexed as AIPerf indexes it.
    Folder(std::path::PathBuf),
}

impl ImageSource {
    /// AIPerf's `_parse_image_source`: `noise` or `assets` in any case, else a folder path
    /// (a leading `~` is the home folder).
    pub fn parse(s: &str) -> ImageSource {
        match s.to_lowercase().as_str() {
            "noise" => ImageSource::Noise,
            "assets" => ImageSource::Assets,
            _ => ImageSource::Folder(expand_home(s)),
        }
    }
}

/// Python's `Path.expanduser` for `~` and `~/...` (another user's `~name` is left as it is).
fn expand_home(s: &str) -> std::path::PathBuf {
    let home = || std::env::var_os("HOME").map(std::path::PathBuf::from);
    match s.strip_prefix('~') {
        Some("") => home().unwrap_or_else(|| s.into()),
        Some(rest) if rest.starts_with('/') => {
            home().map_or_else(|| s.into(), |h| h.join(rest.trim_start_matches('/')))
        }
        _ => s.into(),
    }
}

/// `--video-format`: the container of synthetic videos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VideoFormat {
    /// AIPerf's default.
    #[default]
    Webm,
    Mp4,
}

impl VideoFormat {
    pub fn name(self) -> &'static str {
        match self {
            VideoFormat::Webm => "webm",
            VideoFormat::Mp4 => "mp4",
        }
    }
}

/// `--video-codec`: the ffmpeg encoder of synthetic videos (AIPerf takes any name; sweepkit the
/// ones Debian's ffmpeg has, so a typo fails before the run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum VideoCodec {
    /// VP9, AIPerf's default.
    #[default]
    #[serde(rename = "libvpx-vp9")]
    Vp9,
    /// VP8.
    #[serde(rename = "libvpx")]
    Vp8,
    #[serde(rename = "libaom-av1")]
    Av1,
    #[serde(rename = "libx264")]
    H264,
    #[serde(rename = "libx265")]
    H265,
}

impl VideoCodec {
    /// ffmpeg's name for the encoder.
    pub fn name(self) -> &'static str {
        match self {
            VideoCodec::Vp9 => "libvpx-vp9",
            VideoCodec::Vp8 => "libvpx",
            VideoCodec::Av1 => "libaom-av1",
            VideoCodec::H264 => "libx264",
            VideoCodec::H265 => "libx265",
        }
    }
}

/// `--video-audio-codec`: the ffmpeg encoder of a video's audio track (AIPerf's `VideoAudioCodec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoAudioCodec {
    Libvorbis,
    Libopus,
    Aac,
}

impl VideoAudioCodec {
    /// ffmpeg's name for the encoder.
    pub fn name(self) -> &'static str {
        match self {
            VideoAudioCodec::Libvorbis => "libvorbis",
            VideoAudioCodec::Libopus => "libopus",
            VideoAudioCodec::Aac => "aac",
        }
    }

    /// AIPerf's `VIDEO_AUDIO_CODEC_MAP`: Opus in MP4, Vorbis in WebM.
    pub fn default_for(format: VideoFormat) -> VideoAudioCodec {
        match format {
            VideoFormat::Mp4 => VideoAudioCodec::Libopus,
            VideoFormat::Webm => VideoAudioCodec::Libvorbis,
        }
    }
}

/// `--video-synth-type`: what the frames show (AIPerf's `VideoSynthType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VideoSynth {
    #[default]
    MovingShapes,
    GridClock,
    Noise,
}

/// The settings the media rules read (`Settings::media_flags`): the `--image-*` and `--audio-*`
/// values as given, and where the requests go.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaFlags {
    pub image_batch_size: Option<u64>,
    pub image_width_mean: Option<f64>,
    pub image_width_stddev: Option<f64>,
    pub image_height_mean: Option<f64>,
    pub image_height_stddev: Option<f64>,
    pub image_format: Option<ImageFormat>,
    pub image_source: Option<String>,
    pub image_source_sampling: Option<SourceSampling>,
    pub audio_batch_size: Option<u64>,
    pub audio_length_mean: Option<f64>,
    pub audio_length_stddev: Option<f64>,
    pub audio_format: Option<AudioFormat>,
    pub audio_sample_rates: Option<Vec<f64>>,
    pub audio_depths: Option<Vec<u64>>,
    pub audio_num_channels: Option<u64>,
    pub video_batch_size: Option<u64>,
    pub video_width: Option<u64>,
    pub video_height: Option<u64>,
    pub video_fps: Option<u64>,
    pub video_duration: Option<f64>,
    pub video_format: Option<VideoFormat>,
    pub video_codec: Option<VideoCodec>,
    pub video_synth_type: Option<VideoSynth>,
    /// Hz, or kHz when at most 1000 (AIPerf's rule).
    pub video_audio_sample_rate: Option<f64>,
    pub video_audio_num_channels: Option<u64>,
    pub video_audio_codec: Option<VideoAudioCodec>,
    /// Bits per sample.
    pub video_audio_depth: Option<u64>,
    /// The endpoint's name when it is not chat (None: chat).
    pub non_chat_endpoint: Option<&'static str>,
    /// An `--input-file` is given.
    pub input_file: bool,
}

/// A mean and a standard deviation.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Spread {
    pub mean: f64,
    pub stddev: f64,
}

/// Synthetic images per request, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSpec {
    pub batch: u64,
    /// Pixels.
    pub width: Spread,
    /// Pixels.
    pub height: Spread,
    pub format: ImageFormat,
    pub source: ImageSource,
    pub sampling: SourceSampling,
}

/// Synthetic audio clips per request, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioSpec {
    pub batch: u64,
    /// Seconds.
    pub length: Spread,
    /// kHz, one drawn per clip.
    pub sample_rates_khz: Vec<f64>,
    /// Bits per sample, one drawn per clip.
    pub depths: Vec<u16>,
    pub channels: u16,
    pub format: AudioFormat,
}

/// Synthetic videos per request, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoSpec {
    pub batch: u64,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Seconds; the video has `int(duration * fps)` frames, as in AIPerf.
    pub duration: f64,
    pub format: VideoFormat,
    pub codec: VideoCodec,
    pub synth: VideoSynth,
    /// The muxed noise track (None: `--video-audio-num-channels 0`, AIPerf's default).
    pub audio: Option<VideoAudio>,
}

/// A synthetic video's audio track, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoAudio {
    /// Hz.
    pub rate: u32,
    /// 1 or 2.
    pub channels: u16,
    /// Bits per sample of the WAV given to ffmpeg: 8, 16, 24 or 32.
    pub depth: u16,
    pub codec: VideoAudioCodec,
}

impl VideoSpec {
    /// Frames per video (AIPerf's `int(duration * fps)`).
    pub fn frames(&self) -> u64 {
        (self.duration * self.fps as f64) as u64
    }
}

/// What synthetic media a request carries (None: that modality is off).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MediaSpec {
    pub images: Option<ImageSpec>,
    pub audio: Option<AudioSpec>,
    pub video: Option<VideoSpec>,
}

/// The largest video side accepted, in pixels.
pub const MAX_VIDEO_SIDE: u64 = 4096;
/// The most frames a video may have (duration x fps): each is drawn and encoded before the run.
pub const MAX_VIDEO_FRAMES: f64 = 3600.0;

/// The largest image side accepted, in pixels (a JPEG cannot state more than 65,535; beyond
/// 8,192 a noise image is tens of MB in every request body).
pub const MAX_IMAGE_SIDE: f64 = 8192.0;
/// The longest mean audio clip accepted, in seconds.
pub const MAX_AUDIO_SECONDS: f64 = 3600.0;
/// The highest sample rate accepted, in kHz.
pub const MAX_SAMPLE_RATE_KHZ: f64 = 384.0;

/// The flag that turned images on (None: off), as AIPerf's converter reads the shape flags.
fn image_trigger(s: &MediaFlags) -> Option<&'static str> {
    [
        ("--image-batch-size", s.image_batch_size.is_some()),
        ("--image-width-mean", s.image_width_mean.is_some()),
        ("--image-width-stddev", s.image_width_stddev.is_some()),
        ("--image-height-mean", s.image_height_mean.is_some()),
        ("--image-height-stddev", s.image_height_stddev.is_some()),
    ]
    .into_iter()
    .find_map(|(f, given)| given.then_some(f))
}

/// The flag that turned audio on (None: off).
fn audio_trigger(s: &MediaFlags) -> Option<&'static str> {
    [
        ("--audio-batch-size", s.audio_batch_size.is_some()),
        ("--audio-length-mean", s.audio_length_mean.is_some()),
        ("--audio-length-stddev", s.audio_length_stddev.is_some()),
    ]
    .into_iter()
    .find_map(|(f, given)| given.then_some(f))
}

/// The media the settings ask for, with AIPerf's defaults filled in. A zero batch size or a zero
/// mean size turns the modality off, as in AIPerf.
pub fn resolve(s: &MediaFlags) -> MediaSpec {
    let images = image_trigger(s).map(|_| ImageSpec {
        batch: s.image_batch_size.unwrap_or(1),
        width: Spread {
            mean: s.image_width_mean.unwrap_or(512.0),
            stddev: s.image_width_stddev.unwrap_or(0.0),
        },
        height: Spread {
            mean: s.image_height_mean.unwrap_or(512.0),
            stddev: s.image_height_stddev.unwrap_or(0.0),
        },
        format: s.image_format.unwrap_or_default(),
        source: s
            .image_source
            .as_deref()
            .map(ImageSource::parse)
            .unwrap_or_default(),
        sampling: s.image_source_sampling.unwrap_or_default(),
    });
    let audio = audio_trigger(s).map(|_| AudioSpec {
        batch: s.audio_batch_size.unwrap_or(1),
        length: Spread {
            mean: s.audio_length_mean.unwrap_or(10.0),
            stddev: s.audio_length_stddev.unwrap_or(0.0),
        },
        sample_rates_khz: s.audio_sample_rates.clone().unwrap_or_else(|| vec![16.0]),
        depths: s.audio_depths.as_ref().map_or_else(
            || vec![16],
            |d| d.iter().map(|&b| b.min(u16::MAX as u64) as u16).collect(),
        ),
        channels: s.audio_num_channels.unwrap_or(1).min(2) as u16,
        format: s.audio_format.unwrap_or_default(),
    });
    // AIPerf: a video once width and height are both given (its batch size defaults to 1).
    let video = match (s.video_width, s.video_height) {
        (Some(w), Some(h)) => Some(VideoSpec {
            batch: s.video_batch_size.unwrap_or(1),
            width: w.min(u32::MAX as u64) as u32,
            height: h.min(u32::MAX as u64) as u32,
            fps: s.video_fps.unwrap_or(4).min(u32::MAX as u64) as u32,
            duration: s.video_duration.unwrap_or(5.0),
            format: s.video_format.unwrap_or_default(),
            codec: s.video_codec.unwrap_or_default(),
            synth: s.video_synth_type.unwrap_or_default(),
            audio: video_audio(s),
        }),
        _ => None,
    };
    MediaSpec {
        video: video.filter(|v| v.batch > 0 && v.frames() > 0),
        images: images.filter(|i| i.batch > 0 && i.width.mean.trunc() > 0.0 && i.height.mean.trunc() > 0.0),
        audio: audio.filter(|a| a.batch > 0 && a.length.mean > 0.0),
    }
}

/// AIPerf's `_generate_audio_data` rate rule: a rate above 1000 is Hz, else kHz.
fn audio_rate_hz(rate: f64) -> f64 {
    if rate > 1000.0 {
        rate
    } else {
        rate * 1000.0
    }
}

/// The video's audio track once `--video-audio-num-channels` is 1 or 2, with AIPerf's defaults
/// (44100 Hz, 16 bits, the container's codec).
fn video_audio(s: &MediaFlags) -> Option<VideoAudio> {
    let channels = s.video_audio_num_channels.unwrap_or(0).min(2) as u16;
    let format = s.video_format.unwrap_or_default();
    (channels > 0).then(|| VideoAudio {
        rate: audio_rate_hz(s.video_audio_sample_rate.unwrap_or(44_100.0)) as u32,
        channels,
        depth: s.video_audio_depth.unwrap_or(16).min(32) as u16,
        codec: s
            .video_audio_codec
            .unwrap_or_else(|| VideoAudioCodec::default_for(format)),
    })
}

/// Refuses media settings that cannot run, naming the flag and the fix.
pub fn check(s: &MediaFlags) -> anyhow::Result<()> {
    if s.audio_format == Some(AudioFormat::Mp3) {
        let rates = s.audio_sample_rates.as_deref().unwrap_or(&[16.0]);
        if let Some(r) = rates
            .iter()
            .find(|r| !mp3::RATES.contains(&((*r * 1000.0) as u32)))
        {
            bail!("--audio-sample-rates {r}: MP3 has no such rate; with --audio-format mp3 give 8, 11.025, 12, 16, 22.05, 24, 32, 44.1 or 48 (kHz), or use --audio-format wav");
        }
    }
    for d in s.audio_depths.iter().flatten() {
        if ![8, 16, 24, 32].contains(d) {
            bail!("--audio-depths {d}: unsupported bit depth; give 8, 16, 24 or 32 (AIPerf's depths)");
        }
    }
    if let Some(c) = s.audio_num_channels.filter(|c| !(1..=2).contains(c)) {
        bail!("--audio-num-channels {c}: give 1 (mono) or 2 (stereo)");
    }
    for r in s.audio_sample_rates.iter().flatten() {
        if !(r * 1000.0 >= 1.0 && *r <= MAX_SAMPLE_RATE_KHZ) {
            bail!("--audio-sample-rates {r}: a rate in kHz from 0.001 to {MAX_SAMPLE_RATE_KHZ} (e.g. 16 or 44.1)");
        }
    }
    for (flag, v) in [
        ("--image-width-mean", s.image_width_mean),
        ("--image-height-mean", s.image_height_mean),
    ] {
        if let Some(v) = v.filter(|v| *v > MAX_IMAGE_SIDE) {
            bail!(
                "--{}: {v} pixels is more than the {MAX_IMAGE_SIDE} sweepkit makes; give a smaller size",
                &flag[2..]
            );
        }
    }
    if let Some(m) = s.audio_length_mean {
        if m > 0.0 && m < 0.01 {
            bail!("--audio-length-mean {m}: AIPerf needs at least 0.01 seconds of audio (or 0 for none)");
        }
        if m > MAX_AUDIO_SECONDS {
            bail!("--audio-length-mean {m}: more than the {MAX_AUDIO_SECONDS} s sweepkit makes per clip; give a shorter length");
        }
    }
    check_source(s)?;
    check_video(s)?;
    check_where(s)
}

/// AIPerf's `_validate_source_sampling_source`: a sampling other than random-with-replacement
/// needs a finite source (checked whether or not images are on, as AIPerf's config does).
fn check_source(s: &MediaFlags) -> anyhow::Result<()> {
    let sampling = s.image_source_sampling.unwrap_or_default();
    let source = s
        .image_source
        .as_deref()
        .map(ImageSource::parse)
        .unwrap_or_default();
    if sampling != SourceSampling::RandomWithReplacement && source == ImageSource::Noise {
        let name = serde_json::to_value(sampling).ok();
        let name = name.as_ref().and_then(|v| v.as_str()).unwrap_or_default();
        bail!("--image-source-sampling {name}: noise images have no finite source to cycle through; give --image-source assets or --image-source DIR (a folder of images), or leave the flag out");
    }
    if s.image_source.as_deref().is_some_and(|v| v.trim().is_empty()) {
        bail!("--image-source: empty value; give noise, assets or a folder of images");
    }
    Ok(())
}

/// Video flags that cannot make a video, each naming its flag.
fn check_video(s: &MediaFlags) -> anyhow::Result<()> {
    for (flag, v) in [
        ("--video-width", s.video_width),
        ("--video-height", s.video_height),
    ] {
        match v {
            Some(0) => bail!("{flag} 0: give a size of at least 1 pixel"),
            Some(v) if v > MAX_VIDEO_SIDE => {
                bail!("{flag} {v}: more than the {MAX_VIDEO_SIDE} pixels sweepkit makes; give a smaller size")
            }
            _ => {}
        }
    }
    match (s.video_width, s.video_height) {
        (Some(_), None) => bail!("--video-width needs --video-height too (AIPerf: both or neither)"),
        (None, Some(_)) => bail!("--video-height needs --video-width too (AIPerf: both or neither)"),
        _ => {}
    }
    if s.video_fps == Some(0) {
        bail!("--video-fps 0: give at least 1 frame per second");
    }
    if let Some(d) = s.video_duration.filter(|d| d.is_nan() || *d <= 0.0) {
        bail!("--video-duration {d}: give a positive length in seconds");
    }
    let frames = s.video_duration.unwrap_or(5.0) * s.video_fps.unwrap_or(4) as f64;
    if s.video_width.is_some() && frames > MAX_VIDEO_FRAMES {
        bail!("--video-duration x --video-fps is {frames} frames, more than the {MAX_VIDEO_FRAMES} sweepkit draws per video; give a shorter --video-duration or a lower --video-fps");
    }
    if s.video_width.is_some() && frames < 1.0 {
        bail!("--video-duration x --video-fps is {frames} frames: give a longer --video-duration or a higher --video-fps for at least one frame");
    }
    let codec = s.video_codec.unwrap_or_default();
    let webm = s.video_format.unwrap_or_default() == VideoFormat::Webm;
    if webm && matches!(codec, VideoCodec::H264 | VideoCodec::H265) {
        bail!("--video-codec {}: WebM holds VP8, VP9 or AV1 only; give --video-format mp4 or --video-codec libvpx-vp9", codec.name());
    }
    check_video_audio(s, webm)
}

/// The `--video-audio-*` flags as AIPerf bounds them, and a codec the container can hold.
fn check_video_audio(s: &MediaFlags, webm: bool) -> anyhow::Result<()> {
    if let Some(n) = s.video_audio_num_channels.filter(|&n| n > 2) {
        bail!("--video-audio-num-channels {n}: give 0 (no audio track), 1 (mono) or 2 (stereo)");
    }
    if let Some(r) = s
        .video_audio_sample_rate
        .filter(|r| !(8.0..=96_000.0).contains(r))
    {
        bail!("--video-audio-sample-rate {r}: give 8 to 96000 (Hz, or kHz when at most 1000: 16 or 16000)");
    }
    if let Some(d) = s.video_audio_depth.filter(|d| ![8, 16, 24, 32].contains(d)) {
        bail!("--video-audio-depth {d}: give 8, 16, 24 or 32 bits");
    }
    if webm && s.video_audio_codec == Some(VideoAudioCodec::Aac) {
        bail!("--video-audio-codec aac: WebM holds Vorbis or Opus audio only; give --video-audio-codec libvorbis or libopus, or --video-format mp4");
    }
    Ok(())
}

/// Media go where a chat message can carry them, on synthetic prompts.
fn check_where(s: &MediaFlags) -> anyhow::Result<()> {
    let video = s.video_width.and(s.video_height).map(|_| "--video-width");
    let Some(flag) = image_trigger(s).or_else(|| audio_trigger(s)).or(video) else {
        return Ok(());
    };
    if let Some(kind) = s.non_chat_endpoint {
        bail!("{flag}: the {kind} endpoint cannot carry images, audio or video; use --endpoint-type chat");
    }
    if s.input_file {
        bail!("{flag} makes synthetic media; an --input-file names its own (its image/images/audio/audios/video/videos fields): drop {flag} or --input-file");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shape_flag_turns_its_modality_on_with_aiperfs_defaults() {
        assert_eq!(resolve(&MediaFlags::default()), MediaSpec::default());
        let s = MediaFlags {
            image_width_mean: Some(100.0),
            audio_batch_size: Some(2),
            image_format: Some(ImageFormat::Png),
            ..Default::default()
        };
        let m = resolve(&s);
        let i = m.images.unwrap();
        assert_eq!(
            (i.batch, i.width.mean, i.height.mean, i.format),
            (1, 100.0, 512.0, ImageFormat::Png)
        );
        let a = m.audio.unwrap();
        assert_eq!((a.batch, a.length.mean, a.channels), (2, 10.0, 1));
        assert_eq!((a.sample_rates_khz, a.depths), (vec![16.0], vec![16]));
        // A format alone, a zero batch or a zero size: no media, as in AIPerf.
        for s in [
            MediaFlags {
                image_format: Some(ImageFormat::Png),
                ..Default::default()
            },
            MediaFlags {
                image_batch_size: Some(0),
                ..Default::default()
            },
            MediaFlags {
                image_height_mean: Some(0.0),
                ..Default::default()
            },
            MediaFlags {
                audio_length_mean: Some(0.0),
                ..Default::default()
            },
        ] {
            assert_eq!(resolve(&s), MediaSpec::default(), "{s:?}");
        }
    }

    /// AIPerf's audio track rules: none at 0 channels (the default), 44.1 kHz 16-bit by default,
    /// a rate of at most 1000 read as kHz, Vorbis in WebM and Opus in MP4 unless a codec is given.
    #[test]
    fn a_video_audio_track_resolves_with_aiperfs_defaults() {
        let video = |f: MediaFlags| {
            resolve(&MediaFlags {
                video_width: Some(64),
                video_height: Some(48),
                ..f
            })
            .video
            .unwrap()
            .audio
        };
        assert_eq!(video(MediaFlags::default()), None);
        let webm = video(MediaFlags {
            video_audio_num_channels: Some(1),
            ..Default::default()
        });
        let want = VideoAudio {
            rate: 44_100,
            channels: 1,
            depth: 16,
            codec: VideoAudioCodec::Libvorbis,
        };
        assert_eq!(webm, Some(want));
        let mp4 = video(MediaFlags {
            video_audio_num_channels: Some(2),
            video_audio_sample_rate: Some(16.0),
            video_audio_depth: Some(24),
            video_format: Some(VideoFormat::Mp4),
            ..Default::default()
        });
        let opus = VideoAudio {
            rate: 16_000,
            channels: 2,
            depth: 24,
            codec: VideoAudioCodec::Libopus,
        };
        assert_eq!(mp4, Some(opus));
        let aac = video(MediaFlags {
            video_audio_num_channels: Some(1),
            video_audio_codec: Some(VideoAudioCodec::Aac),
            video_format: Some(VideoFormat::Mp4),
            ..Default::default()
        });
        assert_eq!(aac.map(|a| a.codec), Some(VideoAudioCodec::Aac));
    }

    #[test]
    fn bad_media_settings_name_their_flag() {
        let cases = [
            (
                MediaFlags {
                    audio_format: Some(AudioFormat::Mp3),
                    audio_sample_rates: Some(vec![44.1, 44.0]),
                    ..Default::default()
                },
                "--audio-sample-rates 44: MP3 has no such rate",
            ),
            (
                MediaFlags {
                    audio_depths: Some(vec![16, 12]),
                    ..Default::default()
                },
                "--audio-depths 12",
            ),
            (
                MediaFlags {
                    audio_num_channels: Some(3),
                    ..Default::default()
                },
                "--audio-num-channels 3",
            ),
            (
                MediaFlags {
                    audio_sample_rates: Some(vec![500.0]),
                    ..Default::default()
                },
                "--audio-sample-rates 500",
            ),
            (
                MediaFlags {
                    image_width_mean: Some(9000.0),
                    ..Default::default()
                },
                "--image-width-mean",
            ),
            (
                MediaFlags {
                    audio_length_mean: Some(0.005),
                    ..Default::default()
                },
                "--audio-length-mean 0.005",
            ),
            (
                MediaFlags {
                    image_batch_size: Some(1),
                    non_chat_endpoint: Some("completions"),
                    ..Default::default()
                },
                "--image-batch-size: the completions endpoint",
            ),
            (
                MediaFlags {
                    video_width: Some(64),
                    video_height: Some(48),
                    non_chat_endpoint: Some("embeddings"),
                    ..Default::default()
                },
                "--video-width: the embeddings endpoint",
            ),
            (
                MediaFlags {
                    video_width: Some(64),
                    ..Default::default()
                },
                "--video-width needs --video-height",
            ),
            (
                MediaFlags {
                    video_width: Some(0),
                    video_height: Some(48),
                    ..Default::default()
                },
                "--video-width 0",
            ),
            (
                MediaFlags {
                    video_width: Some(64),
                    video_height: Some(48),
                    video_fps: Some(0),
                    ..Default::default()
                },
                "--video-fps 0",
            ),
            (
                MediaFlags {
                    video_width: Some(64),
                    video_height: Some(48),
                    video_duration: Some(0.0),
                    ..Default::default()
                },
                "--video-duration 0",
            ),
            (
                MediaFlags {
                    video_width: Some(64),
                    video_height: Some(48),
                    video_codec: Some(VideoCodec::H264),
                    ..Default::default()
                },
                "--video-codec libx264: WebM holds",
            ),
            (
                MediaFlags {
                    audio_length_mean: Some(2.0),
                    input_file: true,
                    ..Default::default()
                },
                "--audio-length-mean makes synthetic media",
            ),
            (
                MediaFlags {
                    image_source_sampling: Some(SourceSampling::ShuffleCycle),
                    ..Default::default()
                },
                "--image-source-sampling shuffle-cycle: noise images have no finite source",
            ),
            (
                MediaFlags {
                    image_source: Some("NOISE".into()),
                    image_source_sampling: Some(SourceSampling::SequentialCycle),
                    ..Default::default()
                },
                "--image-source-sampling sequential-cycle: noise",
            ),
        ];
        for (s, want) in cases {
            let e = check(&s).unwrap_err().to_string();
            assert!(e.starts_with(want), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        assert!(check(&MediaFlags {
            image_batch_size: Some(2),
            ..Default::default()
        })
        .is_ok());
        assert!(check(&MediaFlags {
            image_source: Some("Assets".into()),
            image_source_sampling: Some(SourceSampling::ShuffleCycle),
            ..Default::default()
        })
        .is_ok());
        let v = MediaFlags {
            video_width: Some(64),
            video_height: Some(48),
            video_format: Some(VideoFormat::Mp4),
            video_codec: Some(VideoCodec::H264),
            ..Default::default()
        };
        assert!(check(&v).is_ok());
        let spec = resolve(&v).video.unwrap();
        assert_eq!(
            (spec.batch, spec.fps, spec.duration, spec.frames()),
            (1, 4, 5.0, 20),
            "AIPerf's defaults"
        );
        assert!(check(&MediaFlags {
            audio_format: Some(AudioFormat::Mp3),
            audio_sample_rates: Some(vec![8.0, 11.025, 22.05, 44.1, 48.0]),
            ..Default::default()
        })
        .is_ok());
    }
}
