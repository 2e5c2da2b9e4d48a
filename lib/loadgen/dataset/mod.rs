//! What to send: the dataset (synthetic prompts, conversations with shared prefixes, or an
//! `--input-file` in one of AIPerf's formats), its text and token counts.

pub mod burst_gpt;
pub mod chat;
pub mod content;
pub mod context;
pub mod conversation;
pub mod corpus;
pub mod input_file;
pub mod media;
pub mod media_file;
pub mod mt_bench;
pub mod multi_turn;
pub mod prefix;
pub mod prompts;
pub mod random_pool;
pub mod raw_payload;
pub mod replay;
pub mod sampling;
pub mod sharegpt;
pub mod source_images;
pub mod spec_bench;
pub mod trace_sessions;
pub mod video;

use crate::io::tokenizer::Tokenizer;
use conversation::Conversation;
use prompts::Prompt;

use crate::loadgen::options::{DatasetType, Options, PublicDataset};

/// A run's dataset.
pub struct Dataset {
    /// One prompt per request; with conversations, each conversation's first turn.
    pub prompts: Vec<Prompt>,
    /// A multi-turn run's conversations (None: one prompt per request).
    pub conversations: Option<Vec<Conversation>>,
    /// The dataset is a trace: its timestamps set the send times.
    pub trace: bool,
}

impl Dataset {
    fn flat(prompts: Vec<Prompt>, trace: bool) -> Dataset {
        Dataset {
            prompts,
            conversations: None,
            trace,
        }
    }

    /// Conversations, with their first turns as the prompts.
    fn of(convs: Vec<Conversation>, trace: bool, sessions: bool) -> Dataset {
        let prompts = convs.iter().map(|c| c.turns[0].alone.clone()).collect();
        Dataset {
            prompts,
            conversations: sessions.then_some(convs),
            trace,
        }
    }
}

/// The dataset: prompts (one per request), or conversations when requests carry a session's
/// history. Synthetic prompts with shared prefixes are one-turn conversations flattened back to
/// prompts (their bodies never change), so they keep the single-request path.
pub fn load(opts: &Options, tok: &Tokenizer, warnings: &mut Vec<String>) -> anyhow::Result<Dataset> {
    let w = &opts.workload;
    let sessions = w.sessions(opts.custom_dataset_type);
    match &opts.input_file {
        Some(p) if opts.public_dataset.is_some() => public(p, opts, tok, warnings),
        Some(p) if opts.custom_dataset_type == DatasetType::RandomPool => {
            let l = random_pool::load(p, opts, tok)?;
            warnings.extend(l.warnings);
            Ok(Dataset::flat(l.prompts, false))
        }
        Some(p) if opts.custom_dataset_type == DatasetType::RawPayload => {
            let l = raw_payload::load(p, tok)?;
            warnings.extend(l.warnings);
            Ok(match l.conversations {
                Some(c) => Dataset::of(c, false, true),
                None => Dataset::flat(l.prompts, false),
            })
        }
        Some(p) if opts.custom_dataset_type == DatasetType::BurstGptTrace => {
            let d = burst_gpt::load(p, opts, tok)?;
            warnings.extend(d.warnings);
            Ok(Dataset::flat(d.prompts, d.trace))
        }
        Some(p) if opts.custom_dataset_type == DatasetType::MultiTurn => {
            let l = multi_turn::load(p, opts, tok)?;
            warnings.extend(l.warnings);
            Ok(Dataset::of(l.conversations, l.trace, sessions))
        }
        Some(p) => {
            let d = input_file::load(p, opts, tok)?;
            warnings.extend(d.warnings);
            Ok(match d.conversations {
                // A trace of sessions: the first turns carry the sessions' start times.
                Some(convs) => Dataset::of(convs, d.trace, true),
                None => Dataset::flat(d.prompts, d.trace),
            })
        }
        None if sessions
            || w.prefix_length + w.shared_system_length + w.user_context_length > 0
            || w.system_prompt.is_some() =>
        {
            Ok(Dataset::of(conversation::synthetic(opts, tok)?, false, sessions))
        }
        None => Ok(Dataset::flat(prompts::synthetic(opts, tok)?, false)),
    }
}

/// An AIPerf public dataset from its local file: one request per entry, or sessions when some
/// entry has several turns (MT-Bench, multi-pair ShareGPT).
fn public(
    path: &std::path::Path,
    opts: &Options,
    tok: &Tokenizer,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Dataset> {
    let (drafts, notes) = match opts.public_dataset {
        Some(PublicDataset::Sharegpt) => sharegpt::load(path, opts, tok)?,
        Some(PublicDataset::SpecBench) => spec_bench::load(path, opts)?,
        Some(PublicDataset::SpecAlMtbench) | None => mt_bench::load(path, opts)?,
    };
    warnings.extend(notes);
    let sessions = drafts.iter().any(|d| d.turns.len() > 1);
    let convs = trace_sessions::conversations(drafts, opts, tok);
    Ok(Dataset::of(convs, false, sessions))
}

/// Checks planned runs as loadgen will check them once its tokenizer is loaded: each run's
/// `--isl`/`--osl` against the model's context ([`context`]), and the `--input-file` with the
/// same [`load`] (every line's values, the schedule's span), once with the first run's settings
/// (what a line may hold does not depend on the swept values), its dataset then dropped.
/// sweep-plan calls it so a plan never holds a run loadgen would refuse; the errors are
/// loadgen's own. Returns the warnings, each once.
pub fn check_planned(runs: &[&crate::contract::settings::Settings]) -> anyhow::Result<Vec<String>> {
    use crate::loadgen::options::resolve;
    let Some(first) = runs.first() else {
        return Ok(Vec::new());
    };
    if first.input_file.is_none() && first.tokenizer.as_deref().is_none_or(|t| t == "builtin") {
        return Ok(Vec::new());
    }
    let opts = resolve((*first).clone(), Default::default(), Default::default())?;
    let tok = Tokenizer::load_at(&opts.tokenizer, opts.tokenizer_revision.as_deref())?;
    let mut warnings: Vec<String> = Vec::new();
    if opts.input_file.is_some() {
        load(&opts, &tok, &mut Vec::new())?;
    } else if tok.context().is_some() {
        for s in runs {
            let w = context::check(
                &resolve((*s).clone(), Default::default(), Default::default())?,
                &tok,
            )?;
            warnings.extend(w.filter(|w| !warnings.contains(w)));
        }
    }
    Ok(warnings)
}

/// A warning when the dataset's own text (a shared system prompt counted once) is merely large:
/// under the refusal limit ([`crate::contract::limits::MAX_DATASET_TOKENS`]), but hundreds of MB.
pub fn large(d: &Dataset) -> Option<String> {
    let own = |p: &Prompt| if p.shared.is_some() { 0 } else { p.isl };
    let tokens: u64 = match &d.conversations {
        Some(c) => c.iter().flat_map(|c| &c.turns).map(|t| own(&t.alone)).sum(),
        None => d.prompts.iter().map(own).sum(),
    };
    (tokens > crate::contract::limits::WARN_DATASET_TOKENS).then(|| {
        format!(
            "the dataset holds {tokens} tokens of prompts (~{} MB of text per copy): it takes seconds to build; --num-prompts N builds N distinct entries that the run cycles through",
            tokens * 6 / 1_000_000
        )
    })
}
