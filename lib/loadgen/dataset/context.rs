//! The model's context, when its files state it (`model_max_length` in its tokenizer_config.json,
//! the limit transformers applies, else `max_position_embeddings` in its config.json): a synthetic
//! request's prompt and reply (`--isl` + `--osl`) must fit in it, or the server refuses every
//! request of the run.

use anyhow::bail;

use crate::io::tokenizer::Tokenizer;
use crate::loadgen::options::Options;

/// Refuses an `--isl` (with `--osl`, their sum) beyond the model's context; a warning when the
/// spread (mean + 3 stddev of each) crosses it. Nothing to check without a stated context, or for
/// an `--input-file` (its lines are checked one by one).
pub fn check(opts: &Options, tok: &Tokenizer) -> anyhow::Result<Option<String>> {
    let Some((max, source)) = tok.context() else {
        return Ok(None);
    };
    if opts.input_file.is_some() {
        return Ok(None);
    }
    let of = format!("the model's context of {max} tokens ({source})");
    let isl = opts.isl;
    match opts.osl {
        _ if isl > max => bail!("--isl {isl}: more than {of}; give a smaller --isl"),
        Some(osl) if isl.saturating_add(osl) > max => bail!(
            "--isl {isl} + --osl {osl} = {} tokens: more than {of}; give a smaller --isl or --osl",
            isl + osl
        ),
        _ => {}
    }
    let high =
        isl as f64 + 3.0 * opts.isl_stddev + opts.osl.map_or(0.0, |o| o as f64 + 3.0 * opts.osl_stddev);
    Ok((high > max as f64).then(|| {
        format!(
            "--isl {isl} (stddev {}){}: mean + 3 stddev = {high:.0} tokens, more than {of}: the server may refuse the longest requests",
            opts.isl_stddev,
            opts.osl
                .map_or(String::new(), |o| format!(" + --osl {o} (stddev {})", opts.osl_stddev))
        )
    }))
}
