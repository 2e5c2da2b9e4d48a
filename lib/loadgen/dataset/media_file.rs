//! The media a dataset line names (AIPerf's `image`/`images`, `audio`/`audios`, `video`/`videos`
//! fields of `single_turn` lines and `multi_turn` turns), turned into content parts as AIPerf's
//! `MediaConversionMixin` turns them: content already encoded (a `data:` URL; audio as
//! `wav,<base64>`/`mp3,<base64>`) and URLs (`scheme://host…`) pass through; anything else is a
//! local file path (relative to the working directory, as AIPerf opens it), read and carried in
//! the body: an image as a `data:image/<png|jpeg>;base64,` URL, a clip as `<wav|mp3>,<base64>`, a
//! video as a `data:video/<mp4|webm>;base64,` URL. sweepkit sends a file's own bytes; AIPerf
//! decodes an image with Pillow and re-encodes it in its format (JPEG at quality 85), so the
//! pixels and size are the same but the bytes may differ.

use std::collections::HashMap;
use std::sync::Arc;

use super::content::Part;
use crate::io::media::{audio_seconds, base64, data_url_bytes, image_format, mp3, unbase64, wav};

/// The largest media file sweepkit reads into a dataset, in bytes (the body carries it whole,
/// base64, on every request that names it).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Which field a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Image,
    Audio,
    Video,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Audio => "audio",
            Kind::Video => "video",
        }
    }
}

/// A line's media fields as read: the singular and the plural of each kind.
#[derive(Debug, Default)]
pub struct Fields {
    pub image: Option<String>,
    pub images: Option<Vec<String>>,
    pub audio: Option<String>,
    pub audios: Option<Vec<String>>,
    pub video: Option<String>,
    pub videos: Option<Vec<String>>,
}

impl Fields {
    /// Whether the line names any media.
    pub fn any(&self) -> bool {
        self.first_field().is_some()
    }

    /// The name of the first field given (for an error about where media cannot go).
    pub fn first_field(&self) -> Option<&'static str> {
        [
            (self.image.is_some(), "image"),
            (self.images.is_some(), "images"),
            (self.audio.is_some(), "audio"),
            (self.audios.is_some(), "audios"),
            (self.video.is_some(), "video"),
            (self.videos.is_some(), "videos"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
    }
}

/// Reads the media of a file's lines; a file named on many lines is read once (its part shared).
#[derive(Default)]
pub struct MediaFiles {
    seen: HashMap<(Kind, String), Part>,
}

impl MediaFiles {
    /// A line's media as parts: its images, then its clips, then its videos; errors name the
    /// field and value (the caller puts `file:line:` in front).
    pub fn parts(&mut self, f: Fields) -> Result<Vec<Part>, String> {
        let mut out = Vec::new();
        for (kind, one, many) in [
            (Kind::Image, f.image, f.images),
            (Kind::Audio, f.audio, f.audios),
            (Kind::Video, f.video, f.videos),
        ] {
            if one.is_some() && many.is_some() {
                return Err(format!(
                    "{0} and {0}s cannot be set together (AIPerf's rule); give one",
                    kind.name()
                ));
            }
            let field = if one.is_some() {
                kind.name().to_string()
            } else {
                format!("{}s", kind.name())
            };
            for value in one.into_iter().chain(many.into_iter().flatten()) {
                out.push(
                    self.part(kind, &value)
                        .map_err(|e| format!("{field} {}: {e}", shown(&value)))?,
                );
            }
        }
        Ok(out)
    }

    fn part(&mut self, kind: Kind, value: &str) -> Result<Part, String> {
        if let Some(p) = self.seen.get(&(kind, value.to_string())) {
            return Ok(p.clone());
        }
        let p = part(kind, value)?;
        self.seen.insert((kind, value.to_string()), p.clone());
        Ok(p)
    }
}

/// One value as a part: encoded content and URLs as they are, a path read from disk.
fn part(kind: Kind, value: &str) -> Result<Part, String> {
    let data_url = value.get(..5).is_some_and(|s| s.eq_ignore_ascii_case("data:"));
    match kind {
        Kind::Image | Kind::Video if data_url || is_url(value)? => Ok(wrap(kind, value.into())),
        Kind::Audio if encoded_audio(value) => Ok(audio_part(value.into())),
        Kind::Audio if data_url => Ok(audio_part(value.into())),
        Kind::Audio if is_url(value)? => Err("an audio part (`input_audio`) carries the clip's bytes, not a URL; give a local .wav/.mp3 file or `wav,<base64>`".into()),
        _ => from_file(kind, value),
    }
}

fn wrap(kind: Kind, url: Arc<str>) -> Part {
    match kind {
        Kind::Image => Part::Image(url),
        _ => Part::Video(url),
    }
}

/// A clip as AIPerf holds it, with its length when it is a readable WAV or MP3 (`audio_duration`).
fn audio_part(data: Arc<str>) -> Part {
    let bytes = match data.strip_prefix("data:") {
        Some(_) => data_url_bytes(&data),
        None => data.split_once(',').and_then(|(_, b64)| unbase64(b64)),
    };
    let seconds = bytes.and_then(|b| audio_seconds(&b));
    Part::Audio { data, seconds }
}

/// AIPerf's `_is_url`: a `scheme://netloc` URL; one of the two alone is an error.
fn is_url(value: &str) -> Result<bool, String> {
    let Some((scheme, rest)) = value.split_once("://") else {
        return Ok(false);
    };
    let netloc = rest.split(['/', '?', '#']).next().unwrap_or("");
    match (scheme.is_empty(), netloc.is_empty()) {
        (false, false) => Ok(true),
        _ => Err("a URL needs both a scheme and a host (`https://host/path`)".into()),
    }
}

/// AIPerf's encoded audio: `wav,<base64>` or `mp3,<base64>`.
fn encoded_audio(value: &str) -> bool {
    value
        .split_once(',')
        .is_some_and(|(f, _)| f.eq_ignore_ascii_case("wav") || f.eq_ignore_ascii_case("mp3"))
}

/// A local file read and encoded as AIPerf's `_encode_media_file` encodes it.
fn from_file(kind: Kind, path: &str) -> Result<Part, String> {
    let ext = std::path::Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let format = match kind {
        Kind::Image => None,
        Kind::Audio => Some(["wav", "mp3"].into_iter().find(|f| *f == ext).ok_or(
            "not a .wav or .mp3 file (AIPerf's audio formats, told by the extension); give one of those, a URL-free `wav,<base64>`, or convert it",
        )?),
        Kind::Video => Some(["mp4", "webm"].into_iter().find(|f| *f == ext).ok_or(
            "not a .mp4 or .webm file (AIPerf's video formats, told by the extension); give one of those, a URL or a data URL",
        )?),
    };
    let bytes = read(path)?;
    Ok(match kind {
        Kind::Image => {
            let fmt = image_format(&bytes)
                .ok_or("not a PNG or JPEG image (the formats AIPerf sends); convert it to one of them")?;
            Part::Image(format!("data:image/{fmt};base64,{}", base64(&bytes)).into())
        }
        Kind::Audio => {
            let seconds = if ext == "wav" {
                wav::info(&bytes).map(|i| i.seconds)
            } else {
                mp3::info(&bytes).map(|i| i.seconds)
            };
            if ext == "wav" && seconds.is_none() {
                return Err("not a readable WAV file (a RIFF/WAVE PCM header); fix or convert it".into());
            }
            let data = format!("{},{}", format.unwrap_or("wav"), base64(&bytes));
            Part::Audio {
                data: data.into(),
                seconds,
            }
        }
        Kind::Video => {
            Part::Video(format!("data:video/{};base64,{}", format.unwrap_or("mp4"), base64(&bytes)).into())
        }
    })
}

/// The file's bytes, at most [`MAX_FILE_BYTES`].
fn read(path: &str) -> Result<Vec<u8>, String> {
    if path.is_empty() {
        return Err("an empty string names no file; give a path, a URL or a data URL".into());
    }
    let how = "give a readable file (a path is relative to the working directory, as in AIPerf), a URL or a data URL";
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}; {how}"))?;
    if !meta.is_file() {
        return Err(format!("not a file; {how}"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{} bytes is more than the {MAX_FILE_BYTES} sweepkit carries in a body; give a smaller file",
            meta.len()
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read it: {e}; {how}"))
}

/// A value as an error shows it: a path or URL whole, encoded content cut short.
fn shown(value: &str) -> String {
    let cut: String = value.chars().take(60).collect();
    if cut.len() < value.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::media::{image_size, png};

    fn fields(image: Option<&str>, audios: &[&str], video: Option<&str>) -> Fields {
        Fields {
            image: image.map(String::from),
            audios: (!audios.is_empty()).then(|| audios.iter().map(|s| s.to_string()).collect()),
            video: video.map(String::from),
            ..Default::default()
        }
    }

    /// A PNG file becomes a data URL of its own bytes, a WAV file `wav,<b64>` with its length;
    /// URLs and encoded content pass through as AIPerf passes them.
    #[test]
    fn files_are_read_into_the_body_and_urls_pass_through() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("a.png");
        let png_bytes = png::encode(30, 20, &[7; 30 * 20 * 3]);
        std::fs::write(&img, &png_bytes).unwrap();
        let clip = dir.path().join("a.WAV");
        std::fs::write(&clip, wav::encode(8000, 16, 1, &[0.0; 4000])).unwrap();
        let mut m = MediaFiles::default();
        let parts = m
            .parts(fields(
                Some(img.to_str().unwrap()),
                &[clip.to_str().unwrap(), "mp3,QUJD"],
                Some("https://example.com/v.mp4"),
            ))
            .unwrap();
        let Part::Image(url) = &parts[0] else {
            panic!("{parts:?}")
        };
        let sent = data_url_bytes(url).unwrap();
        assert_eq!(
            (url.starts_with("data:image/png;base64,"), &sent),
            (true, &png_bytes)
        );
        assert_eq!(image_size(&sent), Some((30, 20)));
        let Part::Audio { data, seconds } = &parts[1] else {
            panic!("{parts:?}")
        };
        assert!(data.starts_with("wav,UklGR"), "{data}");
        assert_eq!(*seconds, Some(0.5));
        assert_eq!(
            parts[2],
            Part::Audio {
                data: "mp3,QUJD".into(),
                seconds: None
            }
        );
        assert_eq!(parts[3], Part::Video("https://example.com/v.mp4".into()));
        let again = m.parts(fields(Some(img.to_str().unwrap()), &[], None)).unwrap();
        let (Part::Image(a), Part::Image(b)) = (&parts[0], &again[0]) else {
            panic!()
        };
        assert!(Arc::ptr_eq(a, b), "a file named twice is read once and shared");
    }

    /// Each refusal names the field and value and says what to give instead.
    #[test]
    fn bad_values_are_refused_naming_the_field_and_value() {
        let dir = tempfile::tempdir().unwrap();
        let txt = dir.path().join("notes.png");
        std::fs::write(&txt, "plain text").unwrap();
        let bad_wav = dir.path().join("x.wav");
        std::fs::write(&bad_wav, "RIFF....").unwrap();
        let err = |f: Fields| MediaFiles::default().parts(f).unwrap_err();
        let missing = err(fields(Some("/no/such/cat.png"), &[], None));
        assert!(
            missing.starts_with("image \"/no/such/cat.png\": cannot read it: "),
            "{missing}"
        );
        let e = err(fields(Some(txt.to_str().unwrap()), &[], None));
        assert!(e.contains("not a PNG or JPEG"), "{e}");
        let e = err(fields(None, &[bad_wav.to_str().unwrap()], None));
        assert!(
            e.starts_with("audios ") && e.contains("not a readable WAV"),
            "{e}"
        );
        let e = err(fields(None, &["clip.ogg"], None));
        assert!(e.contains("not a .wav or .mp3"), "{e}");
        let e = err(fields(None, &["https://example.com/a.wav"], None));
        assert!(e.contains("not a URL"), "{e}");
        let e = err(fields(Some("https:///x.png"), &[], None));
        assert!(e.contains("scheme and a host"), "{e}");
        let e = err(fields(None, &[], Some("movie.avi")));
        assert!(
            e.starts_with("video \"movie.avi\"") && e.contains(".mp4 or .webm"),
            "{e}"
        );
        let both = Fields {
            image: Some("a".into()),
            images: Some(vec!["b".into()]),
            ..Default::default()
        };
        assert!(err(both).contains("image and images cannot be set together"));
    }
}
