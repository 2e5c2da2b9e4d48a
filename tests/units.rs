//! Every number a person reads in a terminal says its unit once: the summary table's headers, the
//! axes of pareto's terminal picture.

use crate::common::{repo_root, run, stderr, stdout};

#[test]
fn the_summary_table_names_each_unit_once() {
    let records = repo_root().join("tests/fixtures/aiperf_multi_turn/profile_export.jsonl");
    let o = run("trial-agg", &["--format", "table", records.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = stdout(&o);
    let row = table
        .lines()
        .find(|l| l.contains("Overall Usage Prompt Cache Read %"))
        .unwrap_or_else(|| panic!("the table shows the cache read share:\n{table}"));
    assert!(!row.contains("% (%)"), "the unit is said twice: {row}");
    assert!(
        table.contains("Time to First Token (ms)"),
        "other headers keep their unit:\n{table}"
    );
}

#[test]
fn the_terminal_frontier_names_each_axis_unit() {
    let sweep = repo_root()
        .join("tests/fixtures/aiperf/b_sweep_c2-4-8_n100/sweep_aggregate/profile_export_aiperf_sweep.json");
    let o = run("pareto", &[sweep.to_str().unwrap(), "--ascii"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pic = stdout(&o);
    let first = pic.lines().next().unwrap_or_default();
    assert_eq!(
        first, "request_throughput_avg (requests/sec)",
        "the y axis:\n{pic}"
    );
    assert!(
        pic.lines()
            .any(|l| l.trim_end().ends_with("> time_to_first_token_p99 (ms)")),
        "the x axis:\n{pic}"
    );
}
