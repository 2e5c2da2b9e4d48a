//! What a chat request's image and audio parts cost and what the mock saw of them. Prefill is
//! charged in prompt tokens (so `usage.prompt_tokens`, the TTFT model and `--record` all see it):
//! an image costs [`IMAGE_BASE_TOKENS`] plus [`TOKENS_PER_TILE`] per 512 x 512 tile it covers
//! (`ceil(w/512) * ceil(h/512)`, OpenAI's high-detail rule without its rescaling), audio
//! [`AUDIO_TOKENS_PER_SECOND`] per started second (a WAV's length from its header, an MP3's from
//! its frame headers). An image whose size cannot be read (a remote
//! URL, bytes that are no PNG/JPEG) costs the base alone; audio of unreadable length costs nothing.
//! A `video_url` part costs [`VIDEO_TOKENS_PER_SECOND`] per started second of the duration its
//! MP4/WebM header states (no decoding); when the header states none, [`VIDEO_TOKENS_PER_KIB`] per
//! started KiB of the file; a remote URL (not fetched) costs nothing.

use serde::Serialize;

use crate::io::media::{audio_seconds, data_url_bytes, image_size, unbase64, video};

/// Prompt tokens every image costs.
pub const IMAGE_BASE_TOKENS: u32 = 85;
/// Prompt tokens per 512 x 512 tile of an image.
pub const TOKENS_PER_TILE: u32 = 170;
/// Side of a tile, in pixels.
pub const TILE: u32 = 512;
/// Prompt tokens per started second of audio.
pub const AUDIO_TOKENS_PER_SECOND: u32 = 25;
/// Prompt tokens per started second of video (a rough frames-sampled-per-second x tokens-per-frame).
pub const VIDEO_TOKENS_PER_SECOND: u32 = 100;
/// Prompt tokens per started KiB of a video whose duration its header does not state.
pub const VIDEO_TOKENS_PER_KIB: u32 = 1;

/// The media of one request as the mock received them (written to `--record` as `media`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MediaSeen {
    /// Each image's `[width, height]` in pixels, read from its PNG/JPEG header (null: unreadable).
    pub images: Vec<Option<[u32; 2]>>,
    /// Each audio clip's length in seconds, read from its WAV header or MP3 frames (null: unreadable).
    pub audio_seconds: Vec<Option<f64>>,
    /// Prompt tokens the media cost (included in `prompt_tokens`).
    pub tokens: u32,
    /// Each video's size in bytes as decoded from its data URL (null: a remote URL); left out
    /// when the request carried no video.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub video_bytes: Vec<Option<usize>>,
    /// Each video's duration in seconds from its MP4/WebM header (null: not stated or remote);
    /// left out when the request carried no video.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub video_seconds: Vec<Option<f64>>,
    /// Each video's `[width, height]` in pixels from its header (null: not stated or remote);
    /// left out when the request carried no video.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub video_sizes: Vec<Option<[u32; 2]>>,
    /// Each video's audio channel count from its header (null: no audio track, or remote); left
    /// out when the request carried no video.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub video_audio_channels: Vec<Option<u16>>,
}

impl MediaSeen {
    /// An `image_url` part's URL.
    pub fn add_image(&mut self, url: &str) {
        let size = data_url_bytes(url).and_then(|b| image_size(&b));
        self.tokens = self.tokens.saturating_add(image_tokens(size));
        self.images.push(size.map(|(w, h)| [w, h]));
    }

    /// An `input_audio` part's base64 data.
    pub fn add_audio(&mut self, data: &str) {
        let seconds = unbase64(data).and_then(|b| audio_seconds(&b));
        let tokens = seconds.map_or(0, |s| (s.ceil() as u32).saturating_mul(AUDIO_TOKENS_PER_SECOND));
        self.tokens = self.tokens.saturating_add(tokens);
        self.audio_seconds.push(seconds);
    }

    /// A `video_url` part's URL: its size, duration and frame size kept, charged per second
    /// (per KiB when the header states no duration).
    pub fn add_video(&mut self, url: &str) {
        let bytes = data_url_bytes(url);
        let info = bytes.as_deref().and_then(video::info).unwrap_or_default();
        let tokens = match (info.seconds, &bytes) {
            (Some(s), _) => (s.ceil() as u32).saturating_mul(VIDEO_TOKENS_PER_SECOND),
            (None, Some(b)) => (b.len().div_ceil(1024) as u32).saturating_mul(VIDEO_TOKENS_PER_KIB),
            (None, None) => 0,
        };
        self.tokens = self.tokens.saturating_add(tokens);
        self.video_bytes.push(bytes.map(|b| b.len()));
        self.video_seconds.push(info.seconds);
        self.video_sizes.push(info.size.map(|(w, h)| [w, h]));
        self.video_audio_channels.push(info.audio_channels);
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty() && self.audio_seconds.is_empty() && self.video_bytes.is_empty()
    }
}

/// The prompt tokens of an image of `size` (None: unknown size, the base alone).
pub fn image_tokens(size: Option<(u32, u32)>) -> u32 {
    let tiles = size.map_or(0, |(w, h)| w.div_ceil(TILE) * h.div_ceil(TILE));
    IMAGE_BASE_TOKENS + TOKENS_PER_TILE * tiles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::media::{base64, png, wav};

    #[test]
    fn images_cost_per_tile_and_audio_per_second() {
        assert_eq!(image_tokens(Some((512, 512))), 85 + 170);
        assert_eq!(image_tokens(Some((513, 100))), 85 + 2 * 170);
        assert_eq!(image_tokens(None), 85);
        let mut m = MediaSeen::default();
        m.add_image(&format!(
            "data:image/png;base64,{}",
            base64(&png::encode(600, 20, &vec![0; 600 * 20 * 3]))
        ));
        m.add_image("https://example.com/cat.png");
        m.add_audio(&base64(&wav::encode(1000, 16, 1, &vec![0.0; 1500])));
        m.add_audio("not base64!");
        // An MP3 of 0.3 s: its frames say about 0.33 s (LAME's delay), one started second.
        let clip = crate::io::media::mp3::encode(16_000, 1, &vec![0.2; 4800]).unwrap();
        m.add_audio(&base64(&clip));
        assert!(
            !serde_json::to_string(&m).unwrap().contains("video"),
            "no video key without one"
        );
        m.add_video(&format!("data:video/mp4;base64,{}", base64(b"ftypisom")));
        m.add_video("https://example.com/v.mp4");
        assert_eq!(m.video_bytes, [Some(8), None]);
        assert_eq!(m.video_seconds, [None, None]);
        assert_eq!(m.images, [Some([600, 20]), None]);
        assert_eq!(m.audio_seconds[..2], [Some(1.5), None]);
        let mp3_seconds = m.audio_seconds[2].unwrap();
        assert!((0.3..0.3 + 3.0 * 0.036).contains(&mp3_seconds), "{mp3_seconds}");
        // The 8-byte video states no duration: one started KiB, 1 token; the URL costs none.
        assert_eq!(m.tokens, (85 + 2 * 170) + 85 + 2 * 25 + 25 + 1);
    }
}
