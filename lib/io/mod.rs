//! Plumbing every stage shares: JSONL in and out, atomic files, the one clock and its error
//! estimate (`clock_sync.rs`), Ctrl-C, exit outcomes, the high-resolution timer, TLS set-up and
//! finding a tokenizer's files (a path or the Hugging Face cache), keeping secrets out of
//! what is written (`redact.rs`), and the media files a request may carry (`media/`: PNG, JPEG
//! and WAV written and their headers read). Knows nothing of any format's
//! content.

pub mod atomic;
pub mod basic_auth;
pub mod capped;
pub mod chat_payload;
pub mod chat_template;
pub mod clock;
pub mod clock_sync;
pub mod hf_cache;
pub mod interrupt;
pub mod jsonl;
pub mod media;
pub mod outcome;
pub mod redact;
pub mod timer;
pub mod tls;
pub mod tokenizer;
