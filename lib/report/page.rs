//! The HTML page: one self-contained file with inline CSS, a table of contents, and the sections in
//! order. No script, font, image or stylesheet from anywhere else, so it reads the same offline
//! and as a mail attachment; hover values come from SVG `<title>`s, folding from `<details>`.

use std::fmt::Write;

pub use super::svg::esc;

/// One section of the page: its anchor, heading and body HTML.
pub struct Section {
    pub id: String,
    pub title: String,
    pub html: String,
}

impl Section {
    pub fn new(id: &str, title: &str, html: String) -> Section {
        Section {
            id: id.into(),
            title: title.into(),
            html,
        }
    }
}

const CSS: &str = "
:root{--fg:#1d2330;--muted:#5b6472;--line:#d9dde3;--bg:#fff;--soft:#f4f6f8;--accent:#0072B2;--bad:#b3261e;--warn:#8a5a00}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0}
header{padding:20px 28px 10px;border-bottom:1px solid var(--line);background:var(--soft)}
header h1{margin:0 0 6px;font-size:22px}
main{padding:8px 28px 40px;max-width:1500px}
nav{font-size:14px;margin:6px 0 0}nav a{margin-right:14px;color:var(--accent);text-decoration:none}
h2{font-size:19px;margin:28px 0 8px;padding-top:8px;border-top:1px solid var(--line)}
h3{font-size:16px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:14px;display:block;max-width:100%;overflow-x:auto}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--soft)}td.num{text-align:right;font-variant-numeric:tabular-nums}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft)}
pre{padding:8px 10px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:14px}
svg.chart{width:100%;height:auto;border:1px solid var(--line);border-radius:4px;background:#fff}
svg .title{font-size:15px;font-weight:600;fill:var(--fg)}
svg .tick,svg .legend,svg .plabel,svg .rlabel{font-size:12px;fill:#333}
svg .wide-band{font-size:12px;fill:var(--warn)}
svg .axis-label{font-size:13px;fill:#333}
svg .grid{stroke:#eceff2}svg .frame{stroke:#9aa3ad}
svg circle.point:hover,svg path.series:hover{stroke-width:3.5}
.note{color:var(--muted);font-size:14px}
.bad{color:var(--bad)}.warn{color:var(--warn)}
.findings{max-width:1000px}
.decision{font-size:17px;margin:10px 0}
details{margin:8px 0;border:1px solid var(--line);border-radius:4px;padding:4px 10px}
details>summary{cursor:pointer;font-weight:600;padding:4px 0}
";

/// The whole page.
pub fn render(title: &str, subtitle: &str, sections: &[Section]) -> String {
    let mut s = String::with_capacity(64 * 1024);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"sweepkit report {}\">\
         <title>{}</title><style>{CSS}</style></head><body><header><h1>{}</h1><div class=\"note\">{}</div><nav>",
        env!("CARGO_PKG_VERSION"),
        esc(title),
        esc(title),
        esc(subtitle)
    );
    for sec in sections {
        let _ = write!(s, "<a href=\"#{}\">{}</a>", esc(&sec.id), esc(&sec.title));
    }
    s.push_str("</nav></header><main>");
    for sec in sections {
        let _ = write!(
            s,
            "<section id=\"{}\"><h2>{}</h2>{}</section>",
            esc(&sec.id),
            esc(&sec.title),
            sec.html
        );
    }
    s.push_str("</main></body></html>\n");
    s
}

/// A table from a header row and body rows of already-escaped cells; cells that parse as numbers
/// are right-aligned.
pub fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let numeric = !c.is_empty()
                && c.replace([',', '.', '-', '%', ' ', '±'], "")
                    .chars()
                    .all(|ch| ch.is_ascii_digit());
            let _ = write!(s, "<td{}>{c}</td>", if numeric { " class=\"num\"" } else { "" });
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

fn inline_md(text: &str) -> String {
    // `code` and **bold**, on escaped text.
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", esc(part));
            continue;
        }
        for (j, b) in esc(part).split("**").enumerate() {
            if j % 2 == 1 {
                let _ = write!(out, "<strong>{b}</strong>");
            } else {
                out.push_str(b);
            }
        }
    }
    out
}

/// A Markdown table row's cells (`| a | b |`), or `None` for the `|---|---|` rule under the head.
fn table_cells(line: &str) -> Option<Vec<String>> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let cells: Vec<String> = inner.split('|').map(|c| c.trim().to_string()).collect();
    let rule = cells
        .iter()
        .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':')));
    (!rule).then_some(cells)
}

/// A Markdown table (its lines, head first) as an HTML table.
fn md_table(lines: &[&str]) -> String {
    let mut rows = lines.iter().filter_map(|l| table_cells(l));
    let head: Vec<String> = rows.next().unwrap_or_default();
    let body: Vec<Vec<String>> = rows.map(|r| r.iter().map(|c| inline_md(c)).collect()).collect();
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    table(&head, &body)
}

/// The little Markdown findings.md uses (headings, bullets, tables, paragraphs, `code`, **bold**)
/// as HTML. The `#` title is left out: the page's own section heading names it.
pub fn markdown(md: &str) -> String {
    let mut s = String::new();
    let mut in_list = false;
    let mut para: Vec<&str> = Vec::new();
    let mut rows: Vec<&str> = Vec::new();
    let flush = |s: &mut String, para: &mut Vec<&str>, rows: &mut Vec<&str>| {
        if !para.is_empty() {
            let _ = write!(s, "<p>{}</p>", inline_md(&para.join(" ")));
            para.clear();
        }
        if !rows.is_empty() {
            s.push_str(&md_table(rows));
            rows.clear();
        }
    };
    for line in md.lines() {
        let t = line.trim_end();
        let item = t.strip_prefix("- ").or_else(|| t.strip_prefix("* "));
        if item.is_none() && in_list {
            s.push_str("</ul>");
            in_list = false;
        }
        if t.trim_start().starts_with('|') {
            if !para.is_empty() {
                let _ = write!(s, "<p>{}</p>", inline_md(&para.join(" ")));
                para.clear();
            }
            rows.push(t);
        } else if let Some(h) = t.strip_prefix('#') {
            flush(&mut s, &mut para, &mut rows);
            let level = 1 + h.chars().take_while(|c| *c == '#').count();
            if level == 1 {
                continue;
            }
            // findings.md's `##` sections sit under the page's own h2: shift levels down by one.
            let tag = (level + 1).min(6);
            let _ = write!(
                s,
                "<h{tag}>{}</h{tag}>",
                inline_md(h.trim_start_matches('#').trim())
            );
        } else if let Some(it) = item {
            flush(&mut s, &mut para, &mut rows);
            if !in_list {
                s.push_str("<ul>");
                in_list = true;
            }
            let _ = write!(s, "<li>{}</li>", inline_md(it));
        } else if t.trim().is_empty() {
            flush(&mut s, &mut para, &mut rows);
        } else {
            if !rows.is_empty() {
                s.push_str(&md_table(&rows));
                rows.clear();
            }
            para.push(t.trim());
        }
    }
    flush(&mut s, &mut para, &mut rows);
    if in_list {
        s.push_str("</ul>");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_of_findings_becomes_escaped_html() {
        let h = markdown("# Benchmark findings\n\nSweep: c = 1, 2 <x>.\nSource: `a.json`.\n\n## Best\n\n- Optimal **c=2**: 3\n- b\n\nEnd.");
        assert_eq!(
            h,
            "<p>Sweep: c = 1, 2 &lt;x&gt;. Source: <code>a.json</code>.</p><h3>Best</h3><ul><li>Optimal <strong>c=2</strong>: 3</li><li>b</li></ul><p>End.</p>"
        );
    }

    #[test]
    fn a_markdown_table_becomes_a_table_not_pipes() {
        let h = markdown("## SLA search\n\n- **Answer:** 8\n\n| iteration | concurrency | feasible |\n|---|---|---|\n| 0 | 4 | yes |\n| 1 | `8` | no |\nAfter.");
        assert_eq!(
            h,
            "<h3>SLA search</h3><ul><li><strong>Answer:</strong> 8</li></ul><table><thead><tr><th>iteration</th><th>concurrency</th><th>feasible</th></tr></thead><tbody><tr><td class=\"num\">0</td><td class=\"num\">4</td><td>yes</td></tr><tr><td class=\"num\">1</td><td><code>8</code></td><td>no</td></tr></tbody></table><p>After.</p>"
        );
    }

    #[test]
    fn the_page_links_its_sections_and_loads_nothing() {
        let p = render("T & t", "sub", &[Section::new("a", "A", "<p>x</p>".into())]);
        assert!(p.contains("<a href=\"#a\">A</a>") && p.contains("<section id=\"a\"><h2>A</h2><p>x</p>"));
        assert!(p.contains("<title>T &amp; t</title>"));
        assert!(!p.contains("src=") && !p.contains("http"), "nothing external");
    }
}
