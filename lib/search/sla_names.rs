//! SLA filters as a person writes and reads them: AIPerf's short metric names resolved to the
//! summary's tags, a misspelt name refused before the first run (not after it), and each filter
//! spelled with its unit (`time_to_first_token p95 < 60 ms`), so what `--ttft-sla-ms` means is
//! said rather than implied.

use crate::contract::sla_filter::SlaFilter;
use crate::trial::metrics::{lookup, KNOWN, SWEEPKIT_ADDITIONS};

/// AIPerf's short names (the sweep guide's `ttft_`/`itl_` keys, the recipes' SLA flags).
pub const ALIASES: [(&str, &str); 5] = [
    ("ttft", "time_to_first_token"),
    ("ttst", "time_to_second_token"),
    ("itl", "inter_token_latency"),
    ("tpot", "inter_token_latency"),
    ("e2e", "request_latency"),
];

/// Tags the search computes itself, beside the summaries' own.
const COMPUTED: [&str; 1] = ["good_request_fraction"];

/// The summary tag a filter's metric names (an alias resolved; anything else as given).
pub fn canonical(tag: &str) -> &str {
    ALIASES.iter().find(|(a, _)| *a == tag).map_or(tag, |(_, t)| t)
}

/// True when sweepkit's and AIPerf 0.13's summaries can hold `tag`.
pub fn is_known(tag: &str) -> bool {
    let base = tag.strip_prefix("adj_").unwrap_or(tag);
    lookup(base).is_some() || SWEEPKIT_ADDITIONS.contains(&tag) || COMPUTED.contains(&tag)
}

/// The one-line refusal of a filter whose metric no summary has: the flag, the name, and the
/// known names closest to it first (fewest edits: a typo's intended metric leads), then the aliases.
pub fn check(filter: &SlaFilter, raw: &str) -> Result<(), String> {
    let tag = filter.metric_tag.as_str();
    if is_known(tag) {
        return Ok(());
    }
    let mut names: Vec<&str> = KNOWN
        .iter()
        .map(|i| i.tag)
        .chain(SWEEPKIT_ADDITIONS)
        .chain(COMPUTED)
        .collect();
    names.sort_by_key(|t| (edit_distance(t, tag), *t));
    let aliases: Vec<String> = ALIASES.iter().map(|(a, t)| format!("{a}={t}")).collect();
    Err(format!(
        "--search-sla '{raw}': unknown metric '{tag}'; known names: {}, ... (aliases {})",
        names[..10].join(", "),
        aliases.join(", ")
    ))
}

/// Levenshtein distance (characters inserted, deleted or replaced): how far a typo is from a name.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The unit a filter's threshold is in: the metric's display unit (`%` for the error rate).
pub fn unit(tag: &str) -> &'static str {
    match tag {
        "request_error_rate" => "%",
        "good_request_fraction" => "",
        t => lookup(t.strip_prefix("adj_").unwrap_or(t)).map_or("", |i| i.unit),
    }
}

/// `time_to_first_token p95 < 60 ms`: the filter with its unit.
pub fn describe(f: &SlaFilter) -> String {
    let u = unit(&f.metric_tag);
    let sep = if u.is_empty() || u == "%" { "" } else { " " };
    format!("{}{sep}{u}", f.describe())
}

/// Every filter of a search with its unit, joined: what the search holds each value to.
pub fn describe_all(filters: &[SlaFilter]) -> String {
    filters.iter().map(describe).collect::<Vec<_>>().join(" and ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_and_a_typo_is_refused_naming_the_flag_and_the_intended_name() {
        assert_eq!(canonical("ttft"), "time_to_first_token");
        assert_eq!(canonical("e2e"), "request_latency");
        assert_eq!(canonical("output_token_throughput"), "output_token_throughput");
        for ok in [
            "time_to_first_token",
            "adj_request_latency",
            "output_token_throughput",
            "good_request_fraction",
        ] {
            assert!(is_known(ok), "{ok}");
        }
        let typo = SlaFilter::parse("time_to_frist_token:p99:le:60").unwrap();
        let e = check(&typo, "time_to_frist_token:p99:le:60").unwrap_err();
        assert!(
            e.starts_with("--search-sla 'time_to_frist_token:p99:le:60': unknown metric 'time_to_frist_token'; known names: time_to_first_token"),
            "{e}"
        );
        assert!(e.contains("ttft=time_to_first_token") && !e.contains('\n'), "{e}");
        assert_eq!(edit_distance("time_to_frist_token", "time_to_first_token"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn a_filter_reads_with_its_unit() {
        let f = SlaFilter::parse("time_to_first_token:p99:le:60").unwrap();
        assert_eq!(describe(&f), "time_to_first_token p99 ≤ 60 ms");
        let f = SlaFilter::parse("request_error_rate:avg:lt:1").unwrap();
        assert_eq!(describe(&f), "request_error_rate avg < 1%");
        let f = SlaFilter::parse("output_token_throughput:avg:ge:100").unwrap();
        assert_eq!(describe(&f), "output_token_throughput avg ≥ 100 tokens/sec");
    }
}
