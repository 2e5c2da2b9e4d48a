//! Conversations: the dataset of a multi-turn run (AIPerf 0.13's `Conversation`), and how each
//! turn becomes a request body.
//!
//! A conversation is a template: its turns' user texts, output lengths and delays, plus the text
//! every turn repeats (the shared system prompt, the conversation's user context). A session runs
//! one; turn k sends `[system] + [context] + user_0, assistant_0, …, user_k` where `assistant_i`
//! is the reply actually received (AIPerf's default `deltas_without_responses` mode: the history
//! grows with the live responses; a failed turn leaves its user message and no reply).

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::content::UserContent;
use super::corpus::Streams;
use super::media::{self, MediaMaker};
use crate::io::tokenizer::Tokenizer;
use crate::loadgen::dataset::prefix::SharedText;
use crate::loadgen::dataset::prompts::{corpus_text, json_inner, pretty, Prompt, SHARED_MARK, SHARE_BYTES};
use crate::loadgen::options::{EndpointType, Options};
use crate::loadgen::py_random::PyRandom;
pub use crate::loadgen::wire::Role;
use crate::loadgen::wire::{self, BodySpec};

/// One conversation template.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// AIPerf's `conversation_id` (`session_000000`, or the file's `session_id`).
    pub id: Arc<str>,
    /// Sent first on every turn: the system prompt (shared, or the file's leading system turn).
    pub system: Option<Arc<str>>,
    /// Sent as the first user message of every turn (`--user-context-prompt-length`).
    pub context: Option<Arc<str>>,
    pub turns: Vec<Turn>,
    /// Turn k carries the turns before it (false: AIPerf's `single_turn` rows sharing a
    /// `session_id`, sent in order, each as it is).
    pub carries_history: bool,
}

/// One turn of a conversation.
#[derive(Debug, Clone)]
pub struct Turn {
    /// The user message (with the pool prefix in front on a synthetic first turn).
    pub content: UserContent,
    /// Milliseconds to wait after the previous turn's reply before sending this one (None: at once).
    pub delay_ms: Option<f64>,
    /// Trace replay: when to send it, ms after the profiling start (over `delay_ms`; None: not stamped).
    pub at_ms: Option<f64>,
    /// This turn formatted on its own: system, context and its user message (no history). It is
    /// exactly what turn 0 sends, the template later turns are built from, and AIPerf's
    /// `inputs.json` entry.
    pub alone: Prompt,
}

impl Conversation {
    /// Builds a conversation: each turn's own request (`alone`) from its text, output budget,
    /// delay and per-turn body keys (`extra`, merged after `--extra-inputs`).
    pub fn new(
        spec: &BodySpec,
        tok: &Tokenizer,
        (index, id): (usize, Arc<str>),
        head: (Option<Arc<str>>, Option<Arc<str>>),
        turns: Vec<TurnSpec>,
    ) -> Conversation {
        let (system, context) = head;
        let shared = system
            .as_ref()
            .filter(|s| s.len() >= SHARE_BYTES)
            .map(|s| shared_text(s, tok));
        let context_content = context.clone().map(UserContent::text);
        let turns = turns
            .into_iter()
            .map(|t| {
                let content = media::content(&t.text, t.media);
                let mut payload = wire::request_body(&spec.with_extra(t.extra), &content, &[], t.max_tokens);
                let msgs: Vec<(Role, &UserContent)> = context_content
                    .iter()
                    .map(|c| (Role::User, c))
                    .chain([(Role::User, &content)])
                    .collect();
                let in_body = if shared.is_some() {
                    Some(SHARED_MARK)
                } else {
                    system.as_deref()
                };
                wire::flavour(spec.kind).set_messages(&mut payload, in_body, &msgs);
                media::put_contents(&mut payload, &[&content]);
                let texts = wire::input_texts(&payload);
                let mut alone = match &shared {
                    // The shared text counted once, the rest after the space that joins them.
                    Some((json, tokens)) => {
                        let rest: Vec<&str> = texts
                            .iter()
                            .map(String::as_str)
                            .filter(|t| *t != SHARED_MARK)
                            .collect();
                        let isl = tokens + tok.count(&format!(" {}", rest.join(" ")));
                        Prompt::from_payload(index, payload, isl, t.max_tokens, t.at_ms).sharing(json.clone())
                    }
                    None => {
                        let isl = tok.count(&texts.join(" "));
                        Prompt::from_payload(index, payload, isl, t.max_tokens, t.at_ms)
                    }
                };
                alone.session_id = id.to_string();
                alone.audio_seconds = content.audio_seconds();
                Turn {
                    content,
                    delay_ms: t.delay_ms,
                    at_ms: t.at_ms,
                    alone,
                }
            })
            .collect();
        Conversation {
            id,
            system,
            context,
            turns,
            carries_history: true,
        }
    }

    /// The body of turn `k` after `history` (the earlier turns' user messages and the replies
    /// received), as a JSON map, and its input texts joined with spaces (what the ISL counts).
    pub fn payload(
        &self,
        kind: EndpointType,
        k: usize,
        history: &[(Role, UserContent)],
    ) -> Map<String, Value> {
        let turn = &self.turns[k];
        let mut payload = turn.alone.payload.clone();
        let context = self.context.clone().map(UserContent::text);
        let mut msgs: Vec<(Role, &UserContent)> = Vec::with_capacity(history.len() + 2);
        if let Some(c) = &context {
            msgs.push((Role::User, c));
        }
        msgs.extend(history.iter().map(|(r, c)| (*r, c)));
        msgs.push((Role::User, &turn.content));
        wire::flavour(kind).set_messages(&mut payload, self.system.as_deref(), &msgs);
        let tail: Vec<&UserContent> = history.iter().map(|(_, c)| c).chain([&turn.content]).collect();
        media::put_contents(&mut payload, &tail);
        payload
    }
}

/// A large system prompt as every entry shares it: JSON-escaped once, and its token count.
/// The synthetic dataset hands the same `Arc` to every conversation, so it is worked out once.
fn shared_text(system: &Arc<str>, tok: &Tokenizer) -> (bytes::Bytes, u64) {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(Arc<str>, bytes::Bytes, u64)>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((_, json, tokens)) = last.as_ref().filter(|(s, _, _)| Arc::ptr_eq(s, system)) {
            return (json.clone(), *tokens);
        }
        let made = (json_inner(system), tok.count(system));
        *last = Some((system.clone(), made.0.clone(), made.1));
        made
    })
}

/// What a turn is made of before it is formatted.
#[derive(Debug, Clone, Default)]
pub struct TurnSpec {
    pub text: String,
    pub max_tokens: Option<u64>,
    pub delay_ms: Option<f64>,
    pub extra: Map<String, Value>,
    /// Trace replay: send time, ms after the profiling start.
    pub at_ms: Option<f64>,
    /// Images and audio after the text (chat only).
    pub media: Vec<super::content::Part>,
}

/// The synthetic conversations (AIPerf's synthetic composer): `--num-prompts` of them (default
/// `--conversation-num`), each of `--conversation-turn-mean` (± stddev) turns of corpus text,
/// drawn from AIPerf's streams in AIPerf's order (conversation by conversation, turn by turn), so
/// a run without shared texts sends AIPerf's prompts; the pool prefix goes in front of the first
/// turn at the token level; later turns wait `--conversation-turn-delay-*` ms, AIPerf's draw
/// `spn(int(mean), std) * ratio`.
pub fn synthetic(opts: &Options, tok: &Tokenizer) -> anyhow::Result<Vec<Conversation>> {
    let w = &opts.workload;
    let mut streams = Streams::new(opts.random_seed);
    let mut shared = SharedText::new(w, opts.random_seed, tok, &mut streams)?;
    let system: Option<Arc<str>> = shared.system.clone();
    let mut counts = PyRandom::derived(opts.random_seed, "composer.conversation.turn_count");
    let mut delays = PyRandom::derived(opts.random_seed, "composer.conversation.turn_delay");
    let spec = BodySpec::of(opts);
    let mut media = MediaMaker::new(&opts.media, opts.random_seed)?;
    let wrap = super::chat::overheads(tok);
    let all_turns = (0..opts.num_prompts)
        .map(|_| {
            let n = counts.positive_normal_integer(w.turn_mean as f64, w.turn_stddev as f64);
            (0..n)
                .map(|t| {
                    let prefix = if t == 0 { shared.next_prefix() } else { None };
                    // AIPerf: the template's overheads come off the prompt (floor 0 under a prefix).
                    let floor = u64::from(prefix.is_none());
                    let isl = wrap.apply(streams.isl(opts.isl, opts.isl_stddev), t == 0, floor);
                    let text = corpus_text(&mut streams, tok, isl, prefix)?;
                    let delay_ms = (t > 0 && w.turn_delay_mean_ms > 0.0).then(|| {
                        delays.positive_normal_integer(
                            w.turn_delay_mean_ms.trunc(),
                            (w.turn_delay_stddev_ms as f64).trunc(),
                        ) as f64
                            * w.turn_delay_ratio
                    });
                    let max_tokens = opts.osl.map(|m| streams.osl(m, opts.osl_stddev));
                    Ok(TurnSpec {
                        text,
                        max_tokens,
                        delay_ms,
                        extra: Map::new(),
                        at_ms: None,
                        media: media.parts()?,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // The user contexts come after every conversation's turns on the corpus stream (AIPerf's order).
    all_turns
        .into_iter()
        .enumerate()
        .map(|(c, turns)| {
            let context = shared.user_context(tok, &mut streams)?.map(Arc::from);
            let id: Arc<str> = Arc::from(format!("session_{c:06}"));
            Ok(Conversation::new(
                &spec,
                tok,
                (c, id),
                (system.clone(), context),
                turns,
            ))
        })
        .collect()
}

/// Writes AIPerf's `inputs.json`: per conversation its `session_id` and one payload per turn.
/// `sent(c, k)` gives the body turn `k` of conversation `c` actually carried (with its history),
/// when it ran; a turn that never ran is written as formatted alone (AIPerf writes every turn so).
/// Payloads are made and written one at a time (a long session's bodies, each carrying its
/// whole history, never sit in memory together).
pub fn write_inputs_json(
    path: &Path,
    convs: &[Conversation],
    sent: impl Fn(usize, usize) -> Option<Map<String, Value>>,
) -> anyhow::Result<()> {
    crate::contract::inputs::write(path, |w| {
        for (c, conv) in convs.iter().enumerate() {
            let payloads = conv.turns.iter().enumerate().map(|(k, t)| match sent(c, k) {
                Some(p) => pretty(&p, None),
                None => t.alone.pretty_payload(),
            });
            w.entry(payloads, &conv.id)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::options::{resolve, Io, Settings};

    fn opts(kind: EndpointType, extra: Settings) -> Options {
        resolve(
            Settings {
                model: Some("m".into()),
                isl: Some(20),
                osl: Some(4),
                num_prompts: Some(6),
                random_seed: Some(3),
                endpoint_type: Some(kind),
                conversation_turn_mean: Some(3),
                conversation_turn_delay_mean: Some(50.0),
                conversation_turn_delay_ratio: Some(2.0),
                shared_system_prompt_length: Some(30),
                user_context_prompt_length: Some(10),
                ..extra
            },
            Io::default(),
            Default::default(),
        )
        .unwrap()
    }

    #[test]
    fn turns_carry_system_context_and_history_in_order() {
        let tok = Tokenizer::load("builtin").unwrap();
        let convs = synthetic(&opts(EndpointType::Chat, Settings::default()), &tok).unwrap();
        assert_eq!(convs.len(), 6);
        let c = &convs[0];
        assert_eq!(c.turns.len(), 3);
        assert_eq!(c.turns[0].delay_ms, None);
        assert_eq!(c.turns[1].delay_ms, Some(100.0), "spn(50, 0) * 2");
        let m0 = &c.turns[0].alone.payload["messages"];
        assert_eq!(m0[0]["role"], "system");
        assert_eq!(m0[1]["role"], "user");
        assert_eq!(m0[1]["content"].as_str(), c.context.as_deref());
        assert_eq!(
            m0[2]["content"].as_str(),
            Some(c.turns[0].content.as_text().as_ref())
        );
        // ISL of a turn counts every message text joined with spaces: 30 + 10 + 20.
        assert_eq!(
            c.turns[0].alone.isl,
            tok.count(&wire::input_texts(&c.turns[0].alone.payload).join(" "))
        );
        assert!(
            (58..=62).contains(&c.turns[0].alone.isl),
            "{}",
            c.turns[0].alone.isl
        );
        let history = vec![
            (Role::User, c.turns[0].content.clone()),
            (Role::Assistant, UserContent::text(" the reply")),
        ];
        let p = c.payload(EndpointType::Chat, 1, &history);
        let text = wire::input_texts(&p).join(" ");
        let roles: Vec<&str> = p["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["system", "user", "user", "assistant", "user"]);
        assert_eq!(
            p["messages"][4]["content"].as_str(),
            Some(c.turns[1].content.as_text().as_ref())
        );
        assert!(text.contains(" the reply"));
        // Every conversation shares the system prompt; contexts differ.
        assert!(convs.iter().all(|d| d.system == c.system));
        assert_ne!(convs[1].context, c.context);
    }

    #[test]
    fn responses_and_messages_carry_the_system_prompt_in_their_own_field() {
        let tok = Tokenizer::load("builtin").unwrap();
        let r = synthetic(&opts(EndpointType::Responses, Settings::default()), &tok).unwrap();
        let p = &r[0].turns[0].alone.payload;
        assert_eq!(p["instructions"].as_str(), r[0].system.as_deref());
        assert_eq!(p["input"].as_array().unwrap().len(), 2);
        let m = synthetic(&opts(EndpointType::Messages, Settings::default()), &tok).unwrap();
        let p = &m[0].turns[0].alone.payload;
        assert_eq!(p["system"].as_str(), m[0].system.as_deref());
        assert_eq!(p["messages"][0]["role"], "user");
    }

    fn settings(turns: u64, pool: Option<u64>) -> Options {
        resolve(
            Settings {
                model: Some("m".into()),
                isl: Some(20),
                osl: Some(4),
                num_prompts: Some(6),
                random_seed: Some(3),
                conversation_turn_mean: Some(turns),
                prefix_prompt_pool_size: pool,
                prefix_prompt_length: pool.map(|_| 12),
                ..Default::default()
            },
            Io::default(),
            Default::default(),
        )
        .unwrap()
    }

    #[test]
    fn first_turns_carry_the_pool_prefix_at_the_token_level() {
        let tok = Tokenizer::load("builtin").unwrap();
        let o = settings(3, Some(2));
        let convs = synthetic(&o, &tok).unwrap();
        let mut shared = SharedText::new(&o.workload, 3, &tok, &mut Streams::new(3)).unwrap();
        for conv in &convs {
            let text = conv.turns[0].content.as_text();
            let prefix = shared.next_prefix().unwrap();
            assert!(text.starts_with(prefix));
            assert_eq!(conv.turns[0].alone.isl, 32, "ISL adds the prefix: 20 + 12");
            assert!(
                !conv.turns[1].content.as_text().starts_with(prefix),
                "only the first turn has the prefix"
            );
            assert_eq!(conv.turns[1].alone.isl, 20);
        }
    }

    #[test]
    fn one_turn_conversations_draw_the_single_turn_prompts_from_the_same_streams() {
        // AIPerf's composer draws every turn from one set of streams in order, so a one-turn
        // conversation run sends the single-turn prompts, and a three-turn one does not.
        let tok = Tokenizer::load("builtin").unwrap();
        let text = |c: &Conversation| c.turns[0].content.as_text().to_string();
        let single = crate::loadgen::dataset::prompts::synthetic(&settings(1, None), &tok).unwrap();
        let singles: Vec<&str> = single
            .iter()
            .map(|p| p.payload["messages"][0]["content"].as_str().unwrap())
            .collect();
        let one: Vec<String> = synthetic(&settings(1, None), &tok)
            .unwrap()
            .iter()
            .map(text)
            .collect();
        assert_eq!(one, singles);
        let three: Vec<String> = synthetic(&settings(3, None), &tok)
            .unwrap()
            .iter()
            .map(text)
            .collect();
        assert_eq!(three[0], singles[0]);
        assert_ne!(
            three[1], singles[1],
            "conversation 0's later turns drew in between"
        );
    }
}
