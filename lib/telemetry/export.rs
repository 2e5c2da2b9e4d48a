//! AIPerf's files from a window summary: the `server_metrics_export.json` document and its CSV,
//! and the GPU table of `profile_export_aiperf.csv`.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};

use crate::contract::summary::{PERCENTILES, STAT_KEYS};
use crate::io::clock::iso_utc;
use crate::telemetry::samples::SampleLine;
use crate::telemetry::window::summarize;

/// One endpoint's scrapes: first and last, the successful ones (by timestamp: a scrape yields many
/// sample lines) and the gaps.
struct Fetches {
    first_ns: u64,
    last_ns: u64,
    ok: std::collections::BTreeSet<u64>,
    gaps: u64,
}

/// Per-endpoint scrape bookkeeping for the export's `summary.endpoint_info`.
fn endpoint_info(lines: &[SampleLine]) -> Map<String, Json> {
    let mut info: BTreeMap<&str, Fetches> = BTreeMap::new();
    for l in lines {
        let e = info.entry(&l.endpoint).or_insert(Fetches {
            first_ns: u64::MAX,
            last_ns: 0,
            ok: Default::default(),
            gaps: 0,
        });
        e.first_ns = e.first_ns.min(l.timestamp_ns);
        e.last_ns = e.last_ns.max(l.timestamp_ns);
        if l.error.is_some() {
            e.gaps += 1;
        } else {
            e.ok.insert(l.timestamp_ns);
        }
    }
    info.into_iter()
        .map(|(ep, f)| {
            let doc = json!({"total_fetches": f.ok.len() as u64 + f.gaps, "successful_fetches": f.ok.len(),
                             "failed_fetches": f.gaps, "first_fetch_ns": f.first_ns, "last_fetch_ns": f.last_ns});
            (ep.to_string(), doc)
        })
        .collect()
}

/// AIPerf's `server_metrics_export.json` document for one trial.
pub fn export_document(lines: &[SampleLine], start_ns: u64, end_ns: u64, benchmark_id: &str) -> Json {
    let endpoints: Vec<&str> = {
        let mut v: Vec<&str> = lines.iter().map(|l| l.endpoint.as_str()).collect();
        v.sort();
        v.dedup();
        v
    };
    let ok: Vec<&str> = endpoints
        .iter()
        .copied()
        .filter(|e| lines.iter().any(|l| l.endpoint == *e && l.error.is_none()))
        .collect();
    json!({
        "schema_version": "1.1",
        "sweepkit_version": env!("CARGO_PKG_VERSION"),
        "benchmark_id": benchmark_id,
        "summary": {
            "endpoints_configured": endpoints,
            "endpoints_successful": ok,
            "start_time": iso_utc(start_ns),
            "end_time": iso_utc(end_ns),
            "endpoint_info": endpoint_info(lines),
            "phase_time_ranges": {"profiling": {"start_ns": start_ns, "end_ns": end_ns}},
        },
        "metrics_phase": "profiling",
        "metrics": summarize(lines, start_ns, end_ns),
    })
}

fn endpoint_host(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.split('/').next().unwrap_or(rest)
}

fn cell(v: &Json) -> String {
    v.as_f64().map(|x| format!("{x:.4}")).unwrap_or_default()
}

/// AIPerf's `server_metrics_export.csv`: a gauge table, a counter table and a histogram table.
pub fn export_csv(metrics: &Json) -> String {
    let pcts: Vec<&str> = PERCENTILES.iter().map(|(k, _)| *k).collect();
    let mut gauges = vec![format!(
        "Endpoint,Type,Metric,Unit,avg,min,max,std,{},Description",
        pcts.join(",")
    )];
    let mut counters = vec!["Endpoint,Type,Metric,Unit,total,rate,labels,Description".to_string()];
    let est: Vec<String> = pcts.iter().map(|p| format!("{p}_estimate")).collect();
    let mut hists = vec![format!(
        "Endpoint,Type,Metric,Unit,count,count_rate,sum,sum_rate,avg,{},Description,buckets",
        est.join(",")
    )];
    for (family, f) in metrics.as_object().into_iter().flatten() {
        let kind = f["type"].as_str().unwrap_or("untyped");
        let unit = f["unit"].as_str().unwrap_or("");
        for s in f["series"].as_array().into_iter().flatten() {
            let st = &s["stats"];
            let ep = endpoint_host(s["endpoint_url"].as_str().unwrap_or(""));
            let name = csv_field(family);
            match kind {
                "counter" => {
                    let labels = s["labels"].as_object().map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                            .collect::<Vec<_>>()
                            .join(";")
                    });
                    counters.push(format!(
                        "{ep},counter,{name},{unit},{},{},{},",
                        cell(&st["total"]),
                        cell(&st["rate"]),
                        csv_field(&labels.unwrap_or_default())
                    ));
                }
                "histogram" => {
                    let buckets = s["buckets"]
                        .as_object()
                        .map(|b| {
                            b.iter()
                                .map(|(k, v)| format!("{k}={}", v))
                                .collect::<Vec<_>>()
                                .join(";")
                        })
                        .unwrap_or_default();
                    let e: Vec<String> = est.iter().map(|k| cell(&st[k.as_str()])).collect();
                    hists.push(format!(
                        "{ep},histogram,{name},{unit},{},{},{},{},{},{},,{}",
                        cell(&st["count"]),
                        cell(&st["count_rate"]),
                        cell(&st["sum"]),
                        cell(&st["sum_rate"]),
                        cell(&st["avg"]),
                        e.join(","),
                        csv_field(&buckets)
                    ));
                }
                _ => {
                    let p: Vec<String> = pcts.iter().map(|k| cell(&st[*k])).collect();
                    gauges.push(format!(
                        "{ep},{kind},{name},{unit},{},{},{},{},{},",
                        cell(&st["avg"]),
                        cell(&st["min"]),
                        cell(&st["max"]),
                        cell(&st["std"]),
                        p.join(",")
                    ));
                }
            }
        }
    }
    let mut out = String::from("# sweepkit Server Metrics Export (CSV, AIPerf layout)\n#\n");
    for table in [gauges, counters, hists] {
        out.push_str(&table.join("\n"));
        out.push_str("\n\n");
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// AIPerf's GPU table section of `profile_export_aiperf.csv`, from `per_gpu` output.
pub fn gpu_csv_section(per_gpu: &Json) -> String {
    let keys = STAT_KEYS;
    let mut out = format!(
        "Endpoint,GPU_Index,GPU_Name,GPU_UUID,Platform,Metric,{}\n",
        keys.join(",")
    );
    for (ep, e) in per_gpu.as_object().into_iter().flatten() {
        for g in e["gpus"].as_object().into_iter().flat_map(|m| m.values()) {
            for (metric, st) in g["metrics"].as_object().into_iter().flatten() {
                let unit = st["unit"].as_str().unwrap_or("");
                let vals: Vec<String> = keys
                    .iter()
                    .map(|k| st[*k].as_f64().map(|x| format!("{x:.2}")).unwrap_or_default())
                    .collect();
                out.push_str(&format!(
                    "{},{},{},{},nvidia,{} ({unit}),{}\n",
                    endpoint_host(ep),
                    g["gpu_index"],
                    csv_field(g["gpu_name"].as_str().unwrap_or("")),
                    g["gpu_uuid"].as_str().unwrap_or(""),
                    metric,
                    vals.join(",")
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::prometheus::MetricType;

    #[test]
    fn export_document_and_csv_carry_every_series() {
        let mk = |t: u64, m: &str, k: MetricType, v: f64| SampleLine {
            endpoint: "http://127.0.0.1:9/metrics".into(),
            timestamp_ns: t,
            metric: Some(m.into()),
            family: None,
            labels: BTreeMap::new(),
            value: Some(v),
            kind: Some(k),
            error: None,
        };
        let lines = vec![
            mk(10, "vllm:num_requests_running", MetricType::Gauge, 2.0),
            mk(20, "vllm:num_requests_running", MetricType::Gauge, 4.0),
            mk(10, "vllm:request_success_total", MetricType::Counter, 1.0),
            mk(20, "vllm:request_success_total", MetricType::Counter, 9.0),
            SampleLine::gap("http://127.0.0.1:9/metrics", 15, "request failed".into()),
        ];
        let doc = export_document(&lines, 10, 20, "b1");
        assert_eq!(
            doc["summary"]["endpoint_info"]["http://127.0.0.1:9/metrics"]["failed_fetches"],
            json!(1)
        );
        assert_eq!(
            doc["metrics"]["vllm:request_success_total"]["series"][0]["stats"]["total"],
            json!(8.0)
        );
        let csv = export_csv(&doc["metrics"]);
        assert!(
            csv.contains("127.0.0.1:9,gauge,vllm:num_requests_running,requests,3.0000,2.0000,4.0000,"),
            "{csv}"
        );
        assert!(
            csv.contains("127.0.0.1:9,counter,vllm:request_success_total,requests,8.0000,"),
            "{csv}"
        );
    }
}
