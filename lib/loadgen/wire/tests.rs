//! Every flavour's parser on captured byte streams (`tests/fixtures/streams/`), split at every
//! offset and fed byte by byte: the same output, usage and content events whatever the split.

use std::time::{Duration, Instant};

use super::*;
use crate::loadgen::dataset::content::UserContent;
use crate::loadgen::http::sse::SseParser;
use crate::loadgen::openai::Usage;

/// What a stream gave: text, reasoning, usage, content events (in arrival order of chunks), ends.
#[derive(Debug, PartialEq)]
struct Seen {
    text: String,
    reasoning: String,
    usage: Option<Usage>,
    content_events: usize,
    /// Index of the chunk that delivered the first content event.
    first_content_chunk: Option<usize>,
    finished: bool,
    done: bool,
}

fn feed(kind: EndpointType, chunks: &[&[u8]]) -> Seen {
    let t0 = Instant::now();
    let mut p = SseParser::new();
    let mut out = Output::default();
    let mut stamps = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        let at = t0 + Duration::from_micros(i as u64);
        p.feed(c, at, |t, d| {
            let r = flavour(kind).stream_event(&mut out, d)?;
            if r.content || r.reasoning {
                stamps.push(t);
            }
            Ok::<(), BodyError>(())
        })
        .unwrap();
    }
    p.finish(t0 + Duration::from_secs(1), |t, d| {
        let r = flavour(kind).stream_event(&mut out, d)?;
        if r.content || r.reasoning {
            stamps.push(t);
        }
        Ok::<(), BodyError>(())
    })
    .unwrap();
    Seen {
        text: out.text,
        reasoning: out.reasoning,
        usage: out.usage,
        content_events: stamps.len(),
        first_content_chunk: stamps.first().map(|t| (*t - t0).as_micros() as usize),
        finished: out.finished,
        done: out.done,
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/streams/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The whole stream in one chunk, then split in two at every offset, then one byte at a time.
fn same_at_every_split(kind: EndpointType, bytes: &[u8]) -> Seen {
    let whole = feed(kind, &[bytes]);
    for cut in 0..=bytes.len() {
        let mut got = feed(kind, &[&bytes[..cut], &bytes[cut..]]);
        // Which chunk completed the first content event depends on the cut; nothing else may.
        got.first_content_chunk = whole.first_content_chunk;
        assert_eq!(got, whole, "{kind:?} split at {cut}");
    }
    let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
    let mut got = feed(kind, &bytewise);
    got.first_content_chunk = whole.first_content_chunk;
    assert_eq!(got, whole, "{kind:?} byte by byte");
    whole
}

#[test]
fn chat_stream_of_a_real_server() {
    let s = same_at_every_split(EndpointType::Chat, &fixture("chat_llamacpp.sse"));
    assert_eq!(s.text, " exampleSTITUTE damagegraphical");
    assert_eq!(s.content_events, 4);
    assert_eq!(s.usage.as_ref().unwrap().completion_tokens, Some(4));
    assert!(s.finished && s.done);
}

#[test]
fn responses_stream() {
    let s = same_at_every_split(EndpointType::Responses, &fixture("responses.sse"));
    // The done event repeats the text: counted as a content response, not as text.
    assert_eq!(s.text, "Hi there! \"Quoted\"\nnew line café 🚀");
    assert_eq!(s.reasoning, "Thinking.");
    assert_eq!(s.content_events, 2 + 5 + 1);
    let u = s.usage.unwrap();
    assert_eq!(
        (u.prompt_total(), u.completion_tokens, u.total_tokens),
        (Some(37), Some(11), Some(48))
    );
    assert_eq!((u.cache_read_tokens(), u.reasoning_tokens()), (Some(5), Some(4)));
    assert!(s.finished && s.done);
    // Metadata events alone carry no content (TTFT starts at the first delta).
    let bytes = fixture("responses.sse");
    let text = String::from_utf8(bytes).unwrap();
    let head: String = text.split_inclusive("\n\n").take(3).collect();
    assert_eq!(
        feed(EndpointType::Responses, &[head.as_bytes()]).content_events,
        0
    );
}

#[test]
fn messages_stream() {
    let s = same_at_every_split(EndpointType::Messages, &fixture("messages.sse"));
    assert_eq!(s.text, "Hello! \"Quoted\"\nand café 🚀");
    assert_eq!(s.reasoning, "Let me think.");
    assert_eq!(s.content_events, 1 + 3);
    let u = s.usage.unwrap();
    // message_start's input counts and message_delta's output count, merged; the cache counts
    // re-total Anthropic's disjoint input_tokens (25 + 7 + 100), as AIPerf does.
    assert_eq!(
        (u.prompt_total(), u.completion_tokens, u.total_tokens),
        (Some(132), Some(15), None)
    );
    assert_eq!(
        (u.cache_read_tokens(), u.cache_creation_input_tokens),
        (Some(100), Some(7))
    );
    assert!(s.finished && s.done);
    let text = String::from_utf8(fixture("messages.sse")).unwrap();
    let head: String = text.split_inclusive("\n\n").take(2).collect();
    assert_eq!(feed(EndpointType::Messages, &[head.as_bytes()]).content_events, 0);
}

#[test]
fn tgi_stream() {
    let s = same_at_every_split(EndpointType::HuggingfaceGenerate, &fixture("tgi.sse"));
    assert_eq!(
        s.text, " Deep learning is \"fun\"\n",
        "generated_text is not counted twice"
    );
    assert_eq!(s.content_events, 4);
    let u = s.usage.unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens), (Some(7), Some(4)));
    assert!(s.finished && s.done);
}

#[test]
fn error_events_become_errors() {
    let mut o = Output::default();
    let e = flavour(EndpointType::Messages)
        .stream_event(
            &mut o,
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        )
        .unwrap_err();
    assert_eq!(e.message, "Overloaded");
    let e = flavour(EndpointType::Responses)
        .stream_event(
            &mut o,
            br#"{"type":"response.failed","response":{"error":{"code":"server_error","message":"boom"}}}"#,
        )
        .unwrap_err();
    assert_eq!(e.message, "boom");
    let e = flavour(EndpointType::HuggingfaceGenerate)
        .stream_event(
            &mut o,
            br#"{"error":"Input validation error","error_type":"validation"}"#,
        )
        .unwrap_err();
    assert_eq!(e.message, "Input validation error");
    assert!(flavour(EndpointType::Messages)
        .stream_event(&mut o, b"{\"type\":")
        .is_err());
}

#[test]
fn whole_bodies_of_every_flavour() {
    let cases: [(EndpointType, &str, &str, u64); 6] = [
        (
            EndpointType::Responses,
            r#"{"id":"resp_1","object":"response","status":"completed","output":[{"type":"reasoning","summary":[{"type":"summary_text","text":"hm"}]},{"type":"message","content":[{"type":"output_text","text":"Hi there"}]}],"usage":{"input_tokens":5,"output_tokens":3,"total_tokens":8}}"#,
            "Hi there",
            8,
        ),
        (
            EndpointType::Messages,
            r#"{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Hello"},{"type":"tool_use","id":"t","name":"f","input":{"a":1}}],"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":3}}"#,
            "Hellof{\"a\":1}",
            0,
        ),
        (
            EndpointType::HuggingfaceGenerate,
            r#"[{"generated_text":" Deep learning","details":{"finish_reason":"length","generated_tokens":2,"input_length":4}}]"#,
            " Deep learning",
            0,
        ),
        (
            EndpointType::CohereRankings,
            r#"{"id":"rerank-1","results":[{"index":1,"relevance_score":0.9},{"index":0,"relevance_score":0.1}],"usage":{"total_tokens":42}}"#,
            "",
            42,
        ),
        (
            EndpointType::CohereRankings,
            r#"{"results":[{"index":0,"relevance_score":0.5}],"meta":{"billed_units":{"search_units":1},"tokens":{"input_tokens":17}}}"#,
            "",
            0,
        ),
        (
            EndpointType::HfTeiRankings,
            r#"[{"index":0,"score":0.99}]"#,
            "",
            0,
        ),
    ];
    for (kind, body, text, total) in cases {
        let mut o = Output::default();
        let p = flavour(kind).whole_body(&mut o, body.as_bytes()).unwrap();
        assert!(p.content, "{kind:?}");
        assert_eq!(o.text, text, "{kind:?}");
        assert_eq!(
            o.usage.as_ref().and_then(|u| u.total_tokens).unwrap_or(0),
            total,
            "{kind:?}"
        );
    }
    let mut o = Output::default();
    let e = flavour(EndpointType::HfTeiRankings)
        .whole_body(&mut o, b"[]")
        .unwrap_err();
    assert!(e.message.contains("no results"));
}

#[test]
fn request_bodies_follow_aiperf() {
    let opts = |kind: EndpointType, streaming: bool| {
        let mut extra = Map::new();
        extra.insert("temperature".into(), Value::from(0));
        crate::loadgen::options::resolve(
            crate::loadgen::options::Settings {
                model: Some("m".into()),
                endpoint_type: Some(kind),
                streaming: Some(streaming),
                extra_inputs: Some(extra),
                ..Default::default()
            },
            Default::default(),
            Default::default(),
        )
        .unwrap()
    };
    let hi = UserContent::text("hi");
    let body = |kind, streaming, max| {
        serde_json::to_string(&request_body(
            &BodySpec::of(&opts(kind, streaming)),
            &hi,
            &["a".into(), "b".into()],
            max,
        ))
        .unwrap()
    };
    assert_eq!(
        body(EndpointType::Responses, true, Some(8)),
        r#"{"input":[{"content":"hi","role":"user","type":"message"}],"max_output_tokens":8,"model":"m","stream":true,"temperature":0}"#
    );
    assert_eq!(
        body(EndpointType::Messages, false, None),
        r#"{"max_tokens":1024,"messages":[{"content":"hi","role":"user"}],"model":"m","temperature":0}"#
    );
    assert_eq!(
        body(EndpointType::HuggingfaceGenerate, true, Some(8)),
        r#"{"inputs":"hi","parameters":{"max_new_tokens":8,"temperature":0}}"#
    );
    assert_eq!(
        body(EndpointType::CohereRankings, false, Some(8)),
        r#"{"documents":["a","b"],"model":"m","query":"hi","temperature":0}"#
    );
    assert_eq!(
        body(EndpointType::HfTeiRankings, false, None),
        r#"{"query":"hi","temperature":0,"texts":["a","b"]}"#
    );
    // AIPerf asks a Responses stream for usage when it counts with the server's numbers.
    let mut o = opts(EndpointType::Responses, true);
    o.use_server_token_count = true;
    assert_eq!(
        request_body(&BodySpec::of(&o), &hi, &[], None)["stream_options"],
        serde_json::json!({"include_usage": true})
    );
    assert_eq!(
        opts(EndpointType::HuggingfaceGenerate, true).endpoint,
        "/generate_stream"
    );
    assert_eq!(
        opts(EndpointType::HuggingfaceGenerate, false).endpoint,
        "/generate"
    );
}

#[test]
fn input_texts_are_what_aiperf_tokenizes() {
    let texts = |v: Value| input_texts(v.as_object().unwrap());
    assert_eq!(
        texts(
            serde_json::json!({"messages":[{"role":"system","content":"sys"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}}]}]})
        ),
        ["sys", "a"]
    );
    assert_eq!(texts(serde_json::json!({"prompt":"p"})), ["p"]);
    assert_eq!(texts(serde_json::json!({"input":["x","y"]})), ["x", "y"]);
    assert_eq!(
        texts(
            serde_json::json!({"instructions":"i","input":[{"type":"message","role":"user","content":"u"}]})
        ),
        ["i", "u"]
    );
    assert_eq!(
        texts(serde_json::json!({"system":"s","messages":[{"role":"user","content":"m"}]})),
        ["s", "m"]
    );
    assert_eq!(
        texts(serde_json::json!({"inputs":"tgi","parameters":{}})),
        ["tgi"]
    );
    assert_eq!(
        texts(serde_json::json!({"query":"q","documents":["d1",{"text":"d2"}]})),
        ["q", "d1", "d2"]
    );
}

/// The contract's `has_message_list` (what the checks ask) and the flavour's `set_messages` (what
/// a session's turn sends) agree for every endpoint type: the flavours said to carry a message
/// list put the system prompt and the whole history in the body; the others leave it untouched.
#[test]
fn set_messages_carries_history_exactly_where_the_type_has_a_message_list() {
    let [first, reply, second] = ["first", "reply", "second"].map(UserContent::text);
    let msgs = [
        (Role::User, &first),
        (Role::Assistant, &reply),
        (Role::User, &second),
    ];
    for &kind in EndpointType::ALL {
        let mut payload = Map::new();
        payload.insert("model".into(), Value::String("m".into()));
        let before = payload.clone();
        flavour(kind).set_messages(&mut payload, Some("be brief"), &msgs);
        let texts = input_texts(&payload);
        if kind.has_message_list() {
            assert_eq!(texts, ["be brief", "first", "reply", "second"], "{}", kind.name());
        } else {
            assert_eq!(payload, before, "{}", kind.name());
        }
    }
}

#[test]
fn chat_body_has_aiperf_fields() {
    let mut spec = BodySpec {
        kind: EndpointType::Chat,
        model: "m".into(),
        streaming: true,
        legacy_max_tokens: false,
        stream_usage: false,
        extra: Map::new(),
    };
    spec.extra.insert("ignore_eos".into(), Value::Bool(true));
    let hi = UserContent::text("hi");
    let b = request_body(&spec, &hi, &[], Some(32));
    assert_eq!(
        serde_json::to_string(&b).unwrap(),
        // serde_json sorts keys (no preserve_order): deterministic bytes for inputs.json.
        r#"{"ignore_eos":true,"max_completion_tokens":32,"messages":[{"content":"hi","role":"user"}],"model":"m","stream":true,"stream_options":{"include_usage":true}}"#
    );
    spec.streaming = false;
    spec.legacy_max_tokens = true;
    spec.extra.clear();
    let b = request_body(&spec, &hi, &[], Some(8));
    assert_eq!(b["max_tokens"], 8);
    assert!(!b.contains_key("stream_options"));
}

/// A turn's own body keys go over `--extra-inputs` in a copy; a turn without any borrows the spec.
#[test]
fn a_turns_extra_keys_merge_over_the_runs() {
    let mut spec = BodySpec {
        kind: EndpointType::Completions,
        model: "m".into(),
        streaming: false,
        legacy_max_tokens: false,
        stream_usage: false,
        extra: Map::new(),
    };
    spec.extra.insert("temperature".into(), Value::from(0));
    spec.extra.insert("top_k".into(), Value::from(5));
    assert!(matches!(
        spec.with_extra(Map::new()),
        std::borrow::Cow::Borrowed(_)
    ));
    let mut own = Map::new();
    own.insert("temperature".into(), Value::from(1));
    let turn = spec.with_extra(own);
    let b = request_body(&turn, &UserContent::text("p"), &[], None);
    assert_eq!(
        (&b["temperature"], &b["top_k"]),
        (&Value::from(1), &Value::from(5))
    );
    assert_eq!(spec.extra["temperature"], 0, "the run's spec is unchanged");
}
