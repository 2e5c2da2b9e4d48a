//! The media files a request may carry, as bytes: PNG, JPEG, WAV and MP3 written from pixels and
//! samples, and their headers read back (an image's width x height, a clip's duration), so the
//! client makes AIPerf's synthetic media and the mock reports what it received.

pub mod ffmpeg;
pub mod image_folder;
pub mod jpeg;
pub mod mp3;
pub mod png;
pub mod source_image;
pub mod video;
pub mod wav;

use base64::Engine as _;

/// Base64 (standard alphabet, padded), as data URLs and `input_audio.data` carry bytes.
pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The bytes of standard base64 text (None: not base64).
pub fn unbase64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text.trim()).ok()
}

/// The bytes of a `data:<mime>;base64,<b64>` URL (None: another URL, or not base64).
pub fn data_url_bytes(url: &str) -> Option<Vec<u8>> {
    let rest = url.strip_prefix("data:")?;
    let (head, b64) = rest.split_once(',')?;
    head.ends_with(";base64").then(|| unbase64(b64)).flatten()
}

/// An image's width and height in pixels, from a PNG's IHDR or a JPEG's SOFn marker.
pub fn image_size(bytes: &[u8]) -> Option<(u32, u32)> {
    png::size(bytes).or_else(|| jpeg::size(bytes))
}

/// A clip's length in seconds, from a WAV's header or an MP3's frame headers.
pub fn audio_seconds(bytes: &[u8]) -> Option<f64> {
    wav::info(bytes)
        .map(|i| i.seconds)
        .or_else(|| mp3::info(bytes).map(|i| i.seconds))
}

/// The image format of `bytes` as AIPerf names it in a data URL (`png`, `jpeg`).
pub fn image_format(bytes: &[u8]) -> Option<&'static str> {
    if png::size(bytes).is_some() {
        Some("png")
    } else if jpeg::size(bytes).is_some() {
        Some("jpeg")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_decode_and_other_urls_do_not() {
        let url = format!("data:image/png;base64,{}", base64(b"\x89PNG"));
        assert_eq!(data_url_bytes(&url).unwrap(), b"\x89PNG");
        assert_eq!(data_url_bytes("https://example.com/a.png"), None);
        assert_eq!(data_url_bytes("data:image/png,plain"), None);
        assert_eq!(data_url_bytes("data:image/png;base64,@@@"), None);
    }
}
