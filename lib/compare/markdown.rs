//! The comparison as Markdown for a pull request: the decision and the gates on top, one table per
//! matched value below.

use std::fmt::Write;

use super::table::{capacity_text, ratio_text, side_text};
use super::verdict;
use crate::contract::comparison::Comparison;

/// Escapes what would break a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

pub fn render(c: &Comparison) -> String {
    let mut o = String::new();
    let labels: Vec<String> = c
        .configurations
        .iter()
        .map(|k| format!("`{}`", k.label))
        .collect();
    let _ = writeln!(o, "## Comparison: {} (base `{}`)\n", labels.join(" vs "), c.base);
    if let Some(d) = &c.decision {
        let _ = writeln!(o, "**Decision:** {}\n", cell(&d.sentence));
        let _ = writeln!(o, "| configuration | capacity within the SLO |\n| --- | --- |");
        for k in &d.capacities {
            let _ = writeln!(o, "| `{}` | {} |", k.label, cell(&capacity_text(k)));
        }
        o.push('\n');
    }
    if !c.gates.is_empty() {
        let _ = writeln!(o, "### Gates\n");
        for g in &c.gates {
            let mark = if g.passed { "✅" } else { "❌" };
            let _ = writeln!(o, "- {mark} {}", g.sentence);
        }
        o.push('\n');
    }
    for p in &c.pairs {
        for pt in &p.points {
            let _ = writeln!(o, "### `{}` vs `{}` at {}\n", p.new, p.base, pt.label);
            let _ = writeln!(
                o,
                "| metric | unit | {} [95% CI] | {} [95% CI] | ratio [95% CI] | verdict |\n| --- | --- | ---: | ---: | ---: | --- |",
                p.base, p.new
            );
            for m in &pt.metrics {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} |",
                    m.metric,
                    cell(&m.unit),
                    side_text(&m.base),
                    side_text(&m.new),
                    ratio_text(m.ratio.as_ref()),
                    cell(&verdict::text(m, c.equivalence_margin))
                );
            }
            o.push('\n');
        }
    }
    for w in &c.warnings {
        let _ = writeln!(o, "> warning: {}", cell(w));
    }
    o
}
