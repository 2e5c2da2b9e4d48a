//! A user message's content as parts, in order: text today; images and audio are further
//! [`Part`] kinds (each flavour then says how it carries them, and the tokenizer what it counts).

use std::borrow::Cow;
use std::sync::Arc;

/// One part of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(Arc<str>),
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

    /// The text parts joined with spaces, as a text-only body carries them and the ISL counts them
    /// (one part: borrowed, no copy).
    pub fn as_text(&self) -> Cow<'_, str> {
        let texts: Vec<&str> = self
            .parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.as_ref(),
            })
            .collect();
        match texts.as_slice() {
            [one] => Cow::Borrowed(one),
            _ => Cow::Owned(texts.join(" ")),
        }
    }
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
}
