//! A user message's content as parts, in order: text, images and audio (each flavour then says
//! how it carries them; the tokenizer counts the text alone, as AIPerf's ISL does).

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{json, Value};

/// One part of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(Arc<str>),
    /// An image: its URL, a `data:image/<fmt>;base64,…` URL for an image carried in the body.
    Image(Arc<str>),
    /// An audio clip as AIPerf holds it: `<format>,<base64>` (or a `data:audio/<fmt>;base64,…`
    /// URL), and its length in seconds when known (AIPerf's `audio_duration_seconds`).
    Audio {
        data: Arc<str>,
        seconds: Option<f64>,
    },
    /// A video: its URL, or a `data:video/<fmt>;base64,…` URL (only a dataset file names videos).
    Video(Arc<str>),
}

/// What one message carries. Cloning shares the parts (a session's history holds pointers, not
/// copies of every turn).
#[derive(Debug, Clone, PartialEq)]
pub struct UserContent {
    pub parts: Arc<[Part]>,
}

impl UserContent {
    /// A message of one text part.
    pub fn text(text: impl Into<Arc<str>>) -> UserContent {
        UserContent {
            parts: Arc::from([Part::Text(text.into())]),
        }
    }

    /// A message of one text part and `media` after it (a text that is empty is left out).
    pub fn with_media(text: impl Into<Arc<str>>, media: Vec<Part>) -> UserContent {
        let text: Arc<str> = text.into();
        let head = (!text.is_empty() || media.is_empty()).then_some(Part::Text(text));
        UserContent {
            parts: head.into_iter().chain(media).collect(),
        }
    }

    /// The text parts joined with spaces, as a text-only body carries them and the ISL counts them
    /// (one part: borrowed, no copy).
    pub fn as_text(&self) -> Cow<'_, str> {
        let texts: Vec<&str> = self
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Text(t) => Some(t.as_ref()),
                _ => None,
            })
            .collect();
        match texts.as_slice() {
            [one] => Cow::Borrowed(one),
            _ => Cow::Owned(texts.join(" ")),
        }
    }

    /// Whether any part is an image or audio.
    pub fn has_media(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Text(_)))
    }

    /// Images in the message.
    pub fn images(&self) -> usize {
        self.parts.iter().filter(|p| matches!(p, Part::Image(_))).count()
    }

    /// The first audio clip's seconds (what AIPerf's `audio_duration` and `rtfx` read).
    pub fn audio_seconds(&self) -> Option<f64> {
        self.parts.iter().find_map(|p| match p {
            Part::Audio { seconds, .. } => *seconds,
            _ => None,
        })
    }

    /// The OpenAI chat `content`, as AIPerf renders a turn: one text alone is a string; otherwise
    /// a list of parts, texts first, then `image_url`, `input_audio` and `video_url` parts.
    pub fn chat_content(&self) -> Value {
        if let [Part::Text(t)] = &self.parts[..] {
            return Value::String(t.to_string());
        }
        let texts = self.parts.iter().filter_map(|p| match p {
            Part::Text(t) => Some(json!({"type": "text", "text": t.as_ref()})),
            _ => None,
        });
        let images = self.parts.iter().filter_map(|p| match p {
            Part::Image(url) => Some(json!({"type": "image_url", "image_url": {"url": url.as_ref()}})),
            _ => None,
        });
        let audio = self.parts.iter().filter_map(|p| match p {
            Part::Audio { data, .. } => Some(audio_part(data)),
            _ => None,
        });
        let videos = self.parts.iter().filter_map(|p| match p {
            Part::Video(url) => Some(json!({"type": "video_url", "video_url": {"url": url.as_ref()}})),
            _ => None,
        });
        let parts: Vec<Value> = texts.chain(images).chain(audio).chain(videos).collect();
        if parts.is_empty() {
            Value::String(String::new())
        } else {
            Value::Array(parts)
        }
    }
}

/// AIPerf's `input_audio` part: `<fmt>,<b64>` or a `data:audio/<fmt>;base64,<b64>` URL, the format
/// split off (`wav` when a data URL names none).
fn audio_part(data: &str) -> Value {
    let (format, b64) = match data.strip_prefix("data:audio/") {
        Some(rest) => {
            let (head, b64) = rest.split_once(',').unwrap_or((rest, ""));
            let f = head.split(';').next().filter(|f| !f.is_empty()).unwrap_or("wav");
            (f, b64)
        }
        None => data.split_once(',').unwrap_or(("wav", data)),
    };
    json!({"type": "input_audio", "input_audio": {"data": b64, "format": format}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_parts_read_as_one_text_joined_by_spaces() {
        let one = UserContent::text("hello there");
        assert!(matches!(one.as_text(), Cow::Borrowed("hello there")));
        let two = UserContent {
            parts: Arc::from([Part::Text("a b".into()), Part::Text("c".into())]),
        };
        assert_eq!(two.as_text(), "a b c");
        let copy = one.clone();
        assert!(Arc::ptr_eq(&copy.parts, &one.parts), "a clone shares the parts");
    }

    /// AIPerf's `_render_turn_content`: a lone text is a string, media make a list with texts,
    /// then images, then audio, then videos, whatever order the parts were given in.
    #[test]
    fn chat_content_is_a_string_alone_and_parts_in_aiperfs_order_with_media() {
        assert_eq!(UserContent::text("hi").chat_content(), json!("hi"));
        let c = UserContent {
            parts: Arc::from([
                Part::Audio {
                    data: "wav,QUJD".into(),
                    seconds: Some(1.5),
                },
                Part::Video("https://example.com/v.mp4".into()),
                Part::Text("look".into()),
                Part::Image("data:image/png;base64,AAA".into()),
                Part::Audio {
                    data: "data:audio/mp3;base64,REVG".into(),
                    seconds: None,
                },
            ]),
        };
        assert_eq!(
            c.chat_content(),
            json!([
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
                {"type": "input_audio", "input_audio": {"data": "QUJD", "format": "wav"}},
                {"type": "input_audio", "input_audio": {"data": "REVG", "format": "mp3"}},
                {"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}},
            ])
        );
        assert_eq!(c.as_text(), "look");
        assert_eq!(
            (c.images(), c.audio_seconds(), c.has_media()),
            (1, Some(1.5), true)
        );
        let bare = UserContent::with_media("", vec![Part::Image("u".into())]);
        assert_eq!(
            bare.chat_content(),
            json!([{"type": "image_url", "image_url": {"url": "u"}}])
        );
    }
}
