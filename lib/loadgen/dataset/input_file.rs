//! `--input-file` datasets: AIPerf's `single_turn` and `mooncake_trace` line formats.
//!
//! One request per line. A `single_turn` line may name images, audio and videos after its text
//! (`image`/`images`, `audio`/`audios`, `video`/`videos`: [`media_file`](crate::loadgen::dataset::media_file), chat only).
//! Text comes from `text`/`texts`/`text_input`, chat `messages`, a raw
//! `payload`, or (traces) `input_length` tokens synthesized deterministically — with `hash_ids`,
//! block by block (`--isl-block-size` tokens per id, default 512, the same text for the same id
//! and seed, so traces that share prefix blocks share prompt prefixes as on the real system).
//! `output_length` sets the max tokens; `timestamp` (ms) or cumulative `delay` (ms, at most
//! `--inter-turn-delay-cap-seconds`) schedule the request, replayed on time ([`replay`] applies the
//! fixed-schedule offsets). A file whose lines carry `session_id` is sessions instead
//! ([`trace_sessions`]): multi-turn in a `mooncake_trace`, turns in order without history in a
//! `single_turn` file.

use std::path::Path;

use anyhow::anyhow;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::contract::limits;
use crate::contract::seconds::{show, Seconds};
use crate::io::jsonl;
use crate::io::tokenizer::Tokenizer;
use crate::loadgen::dataset::content::{Part, UserContent};
use crate::loadgen::dataset::conversation::Conversation;
use crate::loadgen::dataset::media;
use crate::loadgen::dataset::media_file::{Fields, MediaFiles};
use crate::loadgen::dataset::prompts::{mix, random_words, text_of_tokens, Prompt};
use crate::loadgen::dataset::replay;
use crate::loadgen::dataset::trace_sessions;
use crate::loadgen::options::{DatasetType, EndpointType, Options};
use crate::loadgen::wire::{self, BodySpec};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    texts: Option<Vec<String>>,
    #[serde(default)]
    text_input: Option<String>,
    #[serde(default)]
    input_length: Option<u64>,
    #[serde(default)]
    hash_ids: Option<Vec<u64>>,
    #[serde(default)]
    messages: Option<Vec<Value>>,
    #[serde(default)]
    payload: Option<Map<String, Value>>,
    #[serde(default)]
    output_length: Option<u64>,
    #[serde(default)]
    timestamp: Option<f64>,
    #[serde(default)]
    delay: Option<f64>,
    #[serde(default)]
    extra: Option<Map<String, Value>>,
    #[serde(default)]
    session_id: Option<Value>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    images: Option<Vec<String>>,
    #[serde(default)]
    audio: Option<String>,
    #[serde(default)]
    audios: Option<Vec<String>>,
    #[serde(default)]
    video: Option<String>,
    #[serde(default)]
    videos: Option<Vec<String>>,
    #[serde(default)]
    #[allow(dead_code)]
    role: Option<String>,
}

/// A loaded `--input-file`.
#[derive(Debug)]
pub struct Dataset {
    /// One request per line (empty when the file is sessions).
    pub prompts: Vec<Prompt>,
    /// A file whose lines carry `session_id`: its sessions ([`trace_sessions`]).
    pub conversations: Option<Vec<Conversation>>,
    /// The file carries a schedule (timestamps/delays): the run replays it.
    pub trace: bool,
    /// What was skipped (a torn last line), for the caller to show.
    pub warnings: Vec<String>,
}

/// What a line sends, as read.
enum Body {
    Text(String),
    Messages(Vec<Value>),
    Payload(Map<String, Value>),
}

/// One line as read and checked, before it becomes a request or a session's turn.
struct Row {
    line: u64,
    session: Option<String>,
    body: Body,
    max_tokens: Option<u64>,
    /// The line's own `extra` (merged after `--extra-inputs`).
    extra: Map<String, Value>,
    timestamp: Option<f64>,
    delay: Option<f64>,
    /// Tokens of text synthesized for it (`input_length`).
    synthesized: u64,
    /// The images, audio and videos the line names, after its text ([`media_file`](crate::loadgen::dataset::media_file)).
    media: Vec<Part>,
}

/// Loads the dataset.
pub fn load(path: &Path, opts: &Options, tok: &Tokenizer) -> anyhow::Result<Dataset> {
    let input = jsonl::Input::open(path).map_err(|e| anyhow!("--input-file: {e}"))?;
    let mut rows = Vec::new();
    let mut synthesized = 0u64;
    let mut files = MediaFiles::default();
    let stats = jsonl::for_each_line(vec![input], |loc, raw| {
        let row = read_row((loc.line, raw), rows.len() as u64, opts, tok, &mut files)?;
        synthesized += row.synthesized;
        if synthesized > limits::MAX_DATASET_TOKENS {
            return Err(format!(
                "the input_length values so far add up to {synthesized} tokens of text to build: more than the {} loadgen builds for one dataset; use a shorter trace",
                limits::MAX_DATASET_TOKENS
            ));
        }
        rows.push(row);
        Ok(())
    })?;
    let warnings = stats
        .warnings()
        .into_iter()
        .map(|w| format!("--input-file {w}"))
        .collect();
    if rows.is_empty() {
        anyhow::bail!("--input-file {}: no requests in the file", path.display());
    }
    if rows.iter().any(|r| r.session.is_some()) {
        let lines = rows.into_iter().map(|r| trace_sessions::Line {
            line: r.line,
            session: r.session,
            text: match r.body {
                Body::Text(t) => t,
                _ => unreachable!("read_row refuses messages/payload in sessions"),
            },
            max_tokens: r.max_tokens,
            extra: r.extra,
            timestamp: r.timestamp,
            delay: opts.workload.capped_delay(r.delay),
            media: r.media,
        });
        let mut warnings: Vec<String> = warnings;
        let s = trace_sessions::build(lines.collect(), opts, tok, path, &mut warnings)?;
        return Ok(Dataset {
            prompts: Vec::new(),
            conversations: Some(s.conversations),
            trace: s.trace,
            warnings,
        });
    }
    let s = schedule_rows(rows, opts, tok, path)?;
    let mut warnings: Vec<String> = warnings;
    warnings.extend(s.warning.clone());
    Ok(Dataset {
        prompts: s.prompts,
        conversations: None,
        trace: s.trace,
        warnings,
    })
}

/// One row of a token-count trace read from another format (a BurstGPT CSV): synthesized
/// text of `input_length` tokens, `output_length` max tokens, sent at `timestamp_ms`.
pub struct TraceRow {
    pub line: u64,
    pub timestamp_ms: f64,
    pub input_length: u64,
    pub output_length: u64,
}

/// A token-count trace's rows as a dataset: text synthesized as for a `mooncake_trace` row
/// without `hash_ids`, replayed on the rows' timestamps ([`replay`]).
pub fn trace_rows(
    path: &Path,
    rows: Vec<TraceRow>,
    opts: &Options,
    tok: &Tokenizer,
) -> anyhow::Result<Dataset> {
    let blocks = Blocks {
        seed: opts.random_seed,
        size: opts.isl_block_size,
    };
    let mut synthesized = 0u64;
    let mut out = Vec::with_capacity(rows.len());
    for (k, r) in rows.into_iter().enumerate() {
        let at = |e: String| anyhow!("{}:{}: {e}", path.display(), r.line);
        synthesized += r.input_length;
        if synthesized > limits::MAX_DATASET_TOKENS {
            return Err(at(format!(
                "the request tokens so far add up to {synthesized} tokens of text to build: more than the {} loadgen builds for one dataset; use a shorter trace",
                limits::MAX_DATASET_TOKENS
            )));
        }
        let text = synth_blocks(tok, blocks, k as u64, r.input_length, &[]).map_err(|e| at(e.to_string()))?;
        out.push(Row {
            line: r.line,
            session: None,
            body: Body::Text(text),
            max_tokens: Some(r.output_length),
            extra: Map::new(),
            timestamp: Some(r.timestamp_ms),
            delay: None,
            synthesized: r.input_length,
            media: Vec::new(),
        });
    }
    if out.is_empty() {
        anyhow::bail!("--input-file {}: no requests in the file", path.display());
    }
    let s = schedule_rows(out, opts, tok, path)?;
    Ok(Dataset {
        prompts: s.prompts,
        conversations: None,
        trace: s.trace,
        warnings: s.warning.into_iter().collect(),
    })
}

/// One request per row, on the file's schedule: `timestamp` (ms), or a `delay` added to the
/// previous row's time (clamped by `--inter-turn-delay-cap-seconds`).
fn schedule_rows(
    rows: Vec<Row>,
    opts: &Options,
    tok: &Tokenizer,
    path: &Path,
) -> anyhow::Result<replay::Scheduled> {
    let total = rows.len();
    let mut scheduled = 0usize;
    let mut clock_ms = 0.0f64;
    let mut prompts = Vec::with_capacity(total);
    let run_spec = BodySpec::of(opts);
    for (k, r) in rows.into_iter().enumerate() {
        let timestamp_ms = match (r.timestamp, opts.workload.capped_delay(r.delay)) {
            (Some(t), _) => {
                clock_ms = t;
                Some(t)
            }
            (None, Some(d)) => {
                clock_ms += d;
                Some(clock_ms)
            }
            (None, None) => None,
        };
        scheduled += timestamp_ms.is_some() as usize;
        let spec = run_spec.with_extra(r.extra);
        let max_tokens = r.max_tokens;
        prompts.push(match r.body {
            Body::Payload(mut payload) => {
                payload.extend(spec.extra.clone());
                let isl = tok.count(&wire::input_texts(&payload).join(" "));
                Prompt::from_payload(k, payload, isl, max_tokens, timestamp_ms)
            }
            Body::Messages(messages) => {
                let none = UserContent::text("");
                let mut p = Prompt::new(&spec, k, (&none, &[]), 0, max_tokens, timestamp_ms);
                p.payload.insert("messages".into(), Value::Array(messages));
                let isl = tok.count(&wire::input_texts(&p.payload).join(" "));
                Prompt::from_payload(k, p.payload, isl, max_tokens, timestamp_ms)
            }
            Body::Text(text) if r.media.is_empty() => {
                let isl = tok.count(&text);
                Prompt::new(
                    &spec,
                    k,
                    (&UserContent::text(text), &[]),
                    isl,
                    max_tokens,
                    timestamp_ms,
                )
            }
            Body::Text(text) => {
                let isl = tok.count(&text);
                let content = media::content(&text, r.media);
                let mut payload = wire::request_body(&spec, &content, &[], max_tokens);
                media::put_contents(&mut payload, &[&content]);
                let mut p = Prompt::from_payload(k, payload, isl, max_tokens, timestamp_ms);
                p.audio_seconds = content.audio_seconds();
                p
            }
        });
    }
    if scheduled != 0 && scheduled != total {
        anyhow::bail!(
            "--input-file {}: {scheduled} of {total} lines have a timestamp/delay; give it on every line or none",
            path.display(),
        );
    }
    let s = replay::schedule(prompts, &opts.replay, path)?;
    if s.trace && opts.request_rate.is_some() {
        anyhow::bail!(
            "--request-rate: {} is a timestamped trace, replayed on its own schedule; drop --request-rate, or give --no-fixed-schedule to send its rows at the rate",
            path.display()
        );
    }
    Ok(s)
}

/// Reads and checks line `line` (the `k`-th request); errors are the message after `file:line:`.
fn read_row(
    (line_no, raw): (u64, &str),
    k: u64,
    opts: &Options,
    tok: &Tokenizer,
    files: &mut MediaFiles,
) -> Result<Row, String> {
    let kind = opts.custom_dataset_type;
    let mut line: Line =
        serde_json::from_str(raw).map_err(|e| format!("not a {} line: {e}", type_name(kind)))?;
    let fields = media_fields(&mut line);
    let sources = [
        line.text.is_some() || line.texts.is_some(),
        line.text_input.is_some(),
        line.input_length.is_some(),
        line.messages.is_some(),
        line.payload.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if let Some(field) = fields.first_field() {
        check_media_line(&line, field, opts)?;
    }
    let media_only = sources == 0 && fields.any();
    if sources != 1 && !media_only {
        return Err("give exactly one of text/texts, text_input, input_length, messages, payload".into());
    }
    let media = files.parts(fields)?;
    if kind == DatasetType::SingleTurn && (line.input_length.is_some() || line.hash_ids.is_some()) {
        return Err("input_length/hash_ids belong to --custom-dataset-type mooncake_trace".into());
    }
    check_values(&line, tok)?;
    let session = line.session_id.map(trace_sessions::session_name).transpose()?;
    if session.is_some() && (line.messages.is_some() || line.payload.is_some()) {
        return Err("session_id: a session's turns are text (text/texts/text_input, or input_length + hash_ids); sessions of `messages`/`payload` lines (AIPerf's message_array_with_responses) are not supported".into());
    }
    let body = if let Some(payload) = line.payload {
        Body::Payload(payload)
    } else if opts.endpoint_type.is_rankings() {
        return Err(format!(
            "--endpoint-type {} needs a query and passages: give `payload` lines (the request body), or use synthetic prompts",
            opts.endpoint_type.name()
        ));
    } else if let Some(messages) = line.messages {
        if !matches!(opts.endpoint_type, EndpointType::Chat | EndpointType::Messages) {
            return Err("messages need --endpoint-type chat or messages".into());
        }
        Body::Messages(messages)
    } else if let Some(t) = line.text.or(line.text_input) {
        Body::Text(t)
    } else if let Some(ts) = line.texts {
        Body::Text(ts.join(" "))
    } else if media_only {
        Body::Text(String::new())
    } else {
        let n = line.input_length.unwrap_or(0);
        let ids = line.hash_ids.as_deref().unwrap_or_default();
        let blocks = Blocks {
            seed: opts.random_seed,
            size: opts.isl_block_size,
        };
        Body::Text(synth_blocks(tok, blocks, k, n, ids).map_err(|e| e.to_string())?)
    };
    Ok(Row {
        line: line_no,
        session,
        body,
        max_tokens: line.output_length.or(opts.osl),
        extra: line.extra.unwrap_or_default(),
        timestamp: line.timestamp,
        delay: line.delay,
        synthesized: line.input_length.unwrap_or(0),
        media,
    })
}

/// The line's media fields, taken out of it.
fn media_fields(line: &mut Line) -> Fields {
    Fields {
        image: line.image.take(),
        images: line.images.take(),
        audio: line.audio.take(),
        audios: line.audios.take(),
        video: line.video.take(),
        videos: line.videos.take(),
    }
}

/// Media go with a `single_turn` line's text, in a chat request (AIPerf's `SingleTurn` has the
/// fields; its `MooncakeTrace` has none, and only the chat endpoint renders them).
fn check_media_line(line: &Line, field: &str, opts: &Options) -> Result<(), String> {
    if opts.custom_dataset_type != DatasetType::SingleTurn {
        return Err(format!(
            "{field}: a {} line carries no media (AIPerf's single_turn and multi_turn lines do); drop {field} or use --custom-dataset-type single_turn",
            type_name(opts.custom_dataset_type)
        ));
    }
    if opts.endpoint_type != EndpointType::Chat {
        return Err(format!(
            "{field}: the {} endpoint cannot carry images, audio or video; use --endpoint-type chat",
            opts.endpoint_type.name()
        ));
    }
    if line.messages.is_some() || line.payload.is_some() {
        return Err(format!(
            "{field}: media go with text/texts; a messages/payload line carries its own content parts"
        ));
    }
    Ok(())
}

/// The line's durations, timestamp and token counts, each within its limit ([`limits`],
/// [`Seconds`]): a `1e308` delay or a `1e15` output length is refused here, naming its line.
fn check_values(line: &Line, tok: &Tokenizer) -> Result<(), String> {
    if let Some(d) = line.delay {
        Seconds::from_ms(d).map_err(|why| format!("delay {}: {why}", show(d)))?;
    }
    if let Some(t) = line.timestamp {
        limits::check_timestamp(t)?;
    }
    let context = tok.model_max_length();
    if let Some(n) = line.output_length {
        limits::check_tokens("output_length", n, context)?;
    }
    if let Some(n) = line.input_length {
        limits::check_tokens("input_length", n, context)?;
    }
    Ok(())
}

fn type_name(k: DatasetType) -> &'static str {
    match k {
        DatasetType::SingleTurn => "single_turn",
        DatasetType::MooncakeTrace => "mooncake_trace",
        DatasetType::MultiTurn => "multi_turn",
        DatasetType::RandomPool => "random_pool",
        DatasetType::RawPayload => "raw_payload",
        DatasetType::BurstGptTrace => "burst_gpt_trace",
    }
}

/// How `hash_ids` become text: `size` tokens per id, the text of an id fixed by it and the seed.
#[derive(Debug, Clone, Copy)]
struct Blocks {
    seed: u64,
    size: u64,
}

/// `n` tokens; with hash ids, block `i` is the text of id `hash_ids[i]`, AIPerf's way: every
/// block but the last is full, the last holds what is left of `n` (at most a block; more than
/// `m` blocks' worth is a random tail after them). Blocks are runs of single-token words, so the
/// prompt is `n` tokens for tokenizers that do not merge across words (the ISL is counted on the
/// text either way), and records that share leading ids share a byte-identical prefix.
fn synth_blocks(tok: &Tokenizer, b: Blocks, k: u64, n: u64, ids: &[u64]) -> anyhow::Result<String> {
    let seed = b.seed;
    if ids.is_empty() {
        let mut rng = StdRng::seed_from_u64(mix(seed, k));
        return text_of_tokens(tok, &mut rng, n);
    }
    let m = ids.len() as u64;
    if n <= (m - 1) * b.size {
        anyhow::bail!(
            "input_length {n} is too short for {m} hash_ids of {} tokens (--isl-block-size): the last block would be empty; it needs more than {}",
            b.size,
            (m - 1) * b.size
        );
    }
    let mut out = String::new();
    let mut left = n;
    for id in ids {
        let take = left.min(b.size);
        let mut rng = StdRng::seed_from_u64(mix(seed ^ 0x5EED_B10C, *id));
        let block = random_words(tok, &mut rng, b.size)?;
        out.push_str(&first_words(&block, take as usize));
        left -= take;
    }
    if left > 0 {
        let mut rng = StdRng::seed_from_u64(mix(seed, k));
        out.push_str(&random_words(tok, &mut rng, left)?);
    }
    if !tok.vocabulary()?.leading_space {
        out.remove(0);
    }
    Ok(out)
}

/// The first `n` space-led words of `text`.
fn first_words(text: &str, n: usize) -> String {
    match text.match_indices(' ').nth(n) {
        Some((i, _)) => text[..i].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::options::{Io, Settings};

    fn opts(kind: DatasetType) -> Options {
        crate::loadgen::options::resolve(
            Settings {
                model: Some("m".into()),
                custom_dataset_type: Some(kind),
                input_file: Some("x".into()),
                ..Default::default()
            },
            Io::default(),
            Default::default(),
        )
        .unwrap()
    }

    #[test]
    fn mooncake_trace_with_hash_ids_and_timestamps() {
        let tok = Tokenizer::load("builtin").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trace.jsonl");
        std::fs::write(&p, "{\"timestamp\": 1000, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [1, 2]}\n{\"timestamp\": 1250, \"input_length\": 100, \"output_length\": 7, \"hash_ids\": [1]}\n").unwrap();
        let d = load(&p, &opts(DatasetType::MooncakeTrace), &tok).unwrap();
        assert!(d.trace);
        assert!(d.warnings.is_empty());
        let ps = d.prompts;
        assert_eq!(ps.len(), 2);
        assert_eq!((ps[0].isl, ps[1].isl), (600, 100));
        assert_eq!((ps[0].timestamp_ms, ps[1].timestamp_ms), (Some(0.0), Some(250.0)));
        assert_eq!(ps[1].payload["max_completion_tokens"], 7);
        let a = ps[0].payload["messages"][0]["content"].as_str().unwrap();
        let b = ps[1].payload["messages"][0]["content"].as_str().unwrap();
        assert!(a.starts_with(b), "shared hash id 1 gives a shared prefix");
    }

    #[test]
    fn single_turn_lines_and_errors_name_the_line() {
        let tok = Tokenizer::load("builtin").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.jsonl");
        std::fs::write(
            &p,
            "{\"text\": \"hello world\"}\n{\"texts\": [\"a\", \"b\"], \"output_length\": 3}\n",
        )
        .unwrap();
        let d = load(&p, &opts(DatasetType::SingleTurn), &tok).unwrap();
        assert!(!d.trace);
        let ps = d.prompts;
        assert_eq!(ps[0].isl, 2);
        assert_eq!(ps[1].max_tokens, Some(3));
        std::fs::write(&p, "{\"text\": \"x\"}\n{\"txt\": \"y\"}\n").unwrap();
        let e = load(&p, &opts(DatasetType::SingleTurn), &tok)
            .unwrap_err()
            .to_string();
        assert!(e.contains("d.jsonl:2:") && e.contains("txt"), "{e}");
        // A torn last line is skipped and reported to the caller, not printed.
        std::fs::write(&p, "{\"text\": \"x\"}\n{\"text\": \"y").unwrap();
        let d = load(&p, &opts(DatasetType::SingleTurn), &tok).unwrap();
        assert_eq!(d.prompts.len(), 1);
        assert_eq!(d.warnings.len(), 1);
        assert!(
            d.warnings[0].starts_with("--input-file ") && d.warnings[0].contains("skipped a torn last line"),
            "{:?}",
            d.warnings
        );
    }
}
