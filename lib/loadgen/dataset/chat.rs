//! `--apply-chat-template`, as AIPerf 0.13 applies it: a chat request's ISL is its messages
//! counted through the tokenizer's chat template (`apply_chat_template(messages, tokenize=True,
//! add_generation_prompt=True)`), and synthetic prompts are shortened by the template's overheads
//! so the templated prompt stays `--isl` tokens (`_estimate_chat_template_overheads`).

use serde_json::{json, Map, Value};

use crate::io::chat_payload::templated_isl;
use crate::io::tokenizer::Tokenizer;

/// The tokens a chat template wraps prompts in (AIPerf's decomposition): `per_request_fixed` once
/// per request (the generation prompt, a default system turn; BOS excluded), `per_msg_wrap` per
/// message (role header and end of turn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overheads {
    /// Tokens.
    pub per_request_fixed: u64,
    /// Tokens.
    pub per_msg_wrap: u64,
}

impl Overheads {
    /// Tokens to take off a turn's synthetic ISL: the first user turn pays both, later turns the wrap.
    pub fn adjustment(&self, first: bool) -> u64 {
        if first {
            self.per_request_fixed + self.per_msg_wrap
        } else {
            self.per_msg_wrap
        }
    }

    /// A sampled ISL less the adjustment, floored at `floor` (1; 0 when a prefix carries the turn).
    pub fn apply(&self, isl: u64, first: bool, floor: u64) -> u64 {
        match self.adjustment(first) {
            0 => isl,
            a => isl.saturating_sub(a).max(floor),
        }
    }
}

/// AIPerf's probe texts (`_CHAT_TEMPLATE_PROBE_SAMPLES`).
const PROBES: [&str; 3] = [
    "Hello, how are you today?",
    "Could you write a Python function to reverse a string?",
    "What's the difference between TCP and UDP in networking?",
];

/// The template's overheads measured as AIPerf measures them: one user turn and user/assistant/user
/// turns of each probe, rendered with the generation prompt; zero without a template or when a
/// probe fails or gives a negative overhead (AIPerf: skipping beats over-correcting).
pub fn overheads(tok: &Tokenizer) -> Overheads {
    if !tok.has_chat_template() {
        return Overheads::default();
    }
    let bos = tok.num_special_tokens() as f64;
    let (mut fixed, mut wrap) = (0.0, 0.0);
    for sample in PROBES {
        let user = json!({"role": "user", "content": sample});
        let assistant = json!({"role": "assistant", "content": sample});
        let single = tok.render_chat(std::slice::from_ref(&user), true);
        let triple = tok.render_chat(&[user.clone(), assistant, user], true);
        let (Some(single), Some(triple)) = (single, triple) else {
            return Overheads::default();
        };
        let (single, triple, bare) = (
            tok.count(&single) as f64,
            tok.count(&triple) as f64,
            tok.count(sample) as f64,
        );
        let avg_wrap = (triple - single - 2.0 * bare) / 2.0;
        let per_request = single - bare - avg_wrap - bos;
        if avg_wrap < 0.0 || per_request < 0.0 {
            return Overheads::default();
        }
        wrap += avg_wrap;
        fixed += per_request;
    }
    let n = PROBES.len() as f64;
    // Python's round(): halves to even.
    Overheads {
        per_request_fixed: (fixed / n).round_ties_even() as u64,
        per_msg_wrap: (wrap / n).round_ties_even() as u64,
    }
}

/// A request's ISL as AIPerf counts it from its payload: through the chat template when that
/// applies ([`templated_isl`]), else its input texts joined with spaces.
pub fn payload_isl(tok: &Tokenizer, payload: &Map<String, Value>) -> u64 {
    templated_isl(tok, payload)
        .unwrap_or_else(|| tok.count(&crate::loadgen::wire::input_texts(payload).join(" ")))
}

/// Sets the ISL of every prompt (and of every conversation turn sent alone) that the chat template
/// counts: what the records report for requests whose ISL is known before they are sent.
pub fn count_dataset(tok: &Tokenizer, d: &mut super::Dataset) {
    if !tok.has_chat_template() {
        return;
    }
    for p in &mut d.prompts {
        if let Some(n) = templated_isl(tok, &p.payload) {
            p.isl = n;
        }
    }
    for c in d.conversations.iter_mut().flatten() {
        for t in &mut c.turns {
            if let Some(n) = templated_isl(tok, &t.alone.payload) {
                t.alone.isl = n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::chat_payload::chat_messages;

    fn fixture(name: &str) -> String {
        format!(
            "{}/tests/fixtures/chat_templates/{name}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    fn expected() -> Value {
        serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap()
    }

    fn templated(name: &str) -> Tokenizer {
        let mut t = Tokenizer::load(&fixture(name)).unwrap();
        assert_eq!(t.apply_chat_template().unwrap(), None);
        t
    }

    /// Every case of expected.json renders to transformers' text and counts transformers' tokens,
    /// for a Llama-3 template in tokenizer_config.json and a ChatML one in chat_template.jinja.
    #[test]
    fn renders_and_counts_as_transformers_apply_chat_template() {
        let e = expected();
        let templates = e["templates"].as_object().unwrap();
        assert_eq!(templates.len(), 2);
        for (name, want) in templates {
            let t = templated(name);
            assert_eq!(
                t.num_special_tokens(),
                want["num_special_tokens"].as_u64().unwrap(),
                "{name}"
            );
            let cases = want["cases"].as_array().unwrap();
            assert_eq!(cases.len(), 10);
            for c in cases {
                let messages = c["messages"].as_array().unwrap();
                let gen = c["add_generation_prompt"].as_bool().unwrap();
                let text = t.render_chat(messages, gen).unwrap();
                assert_eq!(text, c["text"].as_str().unwrap(), "{name}: {messages:?}");
                assert_eq!(
                    t.count_chat(messages, gen),
                    c["count"].as_u64(),
                    "{name}: {text:?}"
                );
            }
        }
    }

    #[test]
    fn overheads_equal_aiperfs_estimate() {
        for (name, want) in expected()["templates"].as_object().unwrap() {
            let o = overheads(&templated(name));
            let w = &want["aiperf_overheads"];
            assert_eq!(
                (o.per_request_fixed, o.per_msg_wrap),
                (
                    w["per_request_fixed"].as_u64().unwrap(),
                    w["per_msg_wrap"].as_u64().unwrap()
                ),
                "{name}"
            );
            assert!(
                o.per_msg_wrap > 0,
                "{name}: a template with headers wraps every message"
            );
        }
    }

    #[test]
    fn no_template_no_ops_with_one_warning_line() {
        for spec in [
            "builtin".to_string(),
            format!("{}/tests/fixtures/tokenizers/unigram", env!("CARGO_MANIFEST_DIR")),
        ] {
            let mut t = Tokenizer::load(&spec).unwrap();
            let w = t.apply_chat_template().unwrap().expect("a warning");
            assert!(
                w.starts_with("--apply-chat-template: ") && !w.contains('\n'),
                "{w}"
            );
            assert_eq!(overheads(&t), Overheads::default());
            let p = json!({"messages": [{"role": "user", "content": "hello"}]});
            assert_eq!(templated_isl(&t, p.as_object().unwrap()), None);
        }
    }

    #[test]
    fn chat_view_joins_text_parts_and_drops_media() {
        let p = json!({"messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "b"}]}
        ]});
        let m = chat_messages(p.as_object().unwrap()).unwrap();
        assert_eq!(
            m,
            vec![
                json!({"role": "system", "content": "be brief"}),
                json!({"role": "user", "content": "ab"})
            ]
        );
        assert_eq!(chat_messages(json!({"prompt": "x"}).as_object().unwrap()), None);
        // The templated ISL is the rendered messages' count, more than the bare text's.
        let t = templated("chatml");
        let isl = templated_isl(&t, p.as_object().unwrap()).unwrap();
        assert_eq!(Some(isl), t.count_chat(&m, true));
        assert!(isl > t.count("be brief ab") + 10, "{isl}");
    }

    #[test]
    fn adjustment_takes_the_fixed_cost_off_the_first_turn_only() {
        let o = Overheads {
            per_request_fixed: 30,
            per_msg_wrap: 8,
        };
        assert_eq!(o.apply(100, true, 1), 62);
        assert_eq!(o.apply(100, false, 1), 92);
        assert_eq!(o.apply(20, true, 1), 1);
        assert_eq!(o.apply(20, true, 0), 0);
        assert_eq!(
            Overheads::default().apply(0, true, 1),
            0,
            "no template: no change"
        );
    }
}
