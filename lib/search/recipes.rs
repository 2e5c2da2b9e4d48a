//! The search recipes: a named question compiled into a dimension, SLA filters, an objective and
//! a planner. AIPerf's `max-concurrency-under-sla`, `max-throughput-ttft-sla`,
//! `max-throughput-itl-sla` and `max-goodput-under-slo` (`aiperf/search_recipes/`), plus
//! `max-request-rate-under-sla` (the same question over `request_rate`) and guidellm's goodput
//! rule `max-goodput-attainment` (the largest load at which a share of requests meets every SLO).

use super::evidence::Slos;
use super::planner::PlannerKind;
use super::space::{Dimension, Kind};
use crate::contract::settings::Sweepable;
use crate::contract::sla_filter::{Op, SlaFilter};

/// The recipes by name.
pub const NAMES: [&str; 6] = [
    "max-concurrency-under-sla",
    "max-request-rate-under-sla",
    "max-throughput-ttft-sla",
    "max-throughput-itl-sla",
    "max-goodput-under-slo",
    "max-goodput-attainment",
];

/// What the search maximises (or minimises) among feasible iterations: `best_trials`.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    pub metric: String,
    pub stat: String,
    pub maximize: bool,
}

/// Everything the user asked, typed (the CLI's search flags).
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub recipe: Option<String>,
    pub space: Option<Dimension>,
    pub slas: Vec<SlaFilter>,
    pub planner: Option<PlannerKind>,
    pub ttft_sla_ms: Option<f64>,
    pub itl_sla_ms: Option<f64>,
    pub e2e_sla_ms: Option<f64>,
    /// A fraction in (0, 1).
    pub error_rate_sla: Option<f64>,
    /// Share of requests that must meet every SLO (goodput recipes), in (0, 1].
    pub slo_attainment_fraction: Option<f64>,
    pub concurrency_min: Option<u64>,
    pub concurrency_max: Option<u64>,
    pub max_iterations: Option<u32>,
    /// Agreeing verdicts the monotonic planner needs per value (AIPerf's default 2).
    pub stability_trials: u32,
    /// Extra runs the boundary may take to settle its verdicts (`planner::verify`).
    pub verify_runs: u32,
    pub objective: Option<Objective>,
}

/// A compiled search.
#[derive(Debug, Clone)]
pub struct SearchConfig {
    pub recipe: Option<String>,
    pub planner: PlannerKind,
    pub dim: Dimension,
    pub filters: Vec<SlaFilter>,
    /// Per-request SLOs (goodput recipes): what makes a request good.
    pub slos: Slos,
    pub attainment: Option<f64>,
    pub objective: Objective,
    pub max_iterations: u32,
    pub stability_trials: u32,
    /// Extra runs the boundary may take to settle its verdicts (`planner::verify`).
    pub verify_runs: u32,
}

fn throughput() -> Objective {
    Objective {
        metric: "output_token_throughput".into(),
        stat: "avg".into(),
        maximize: true,
    }
}

fn filter(tag: &str, stat: &str, op: Op, threshold: f64) -> SlaFilter {
    SlaFilter {
        metric_tag: tag.into(),
        stat: stat.into(),
        op,
        threshold,
    }
}

fn load_dim(req: &SearchRequest, param: Sweepable) -> Result<Dimension, String> {
    if let Some(d) = &req.space {
        if d.param != param {
            return Err(format!(
                "--search-space {}: recipe '{}' searches {}",
                d.path,
                req.recipe.as_deref().unwrap_or(""),
                param.key()
            ));
        }
        return Ok(d.clone());
    }
    let lo = req.concurrency_min.unwrap_or(1) as f64;
    let hi = req.concurrency_max.unwrap_or(1000) as f64;
    if hi <= lo {
        return Err(format!("--concurrency-min {lo} / --concurrency-max {hi}: the space is empty: max must be greater than min"));
    }
    Ok(Dimension {
        path: param.key().into(),
        lo,
        hi,
        kind: Kind::Int,
        param,
    })
}

/// The filters AIPerf's recipes build from the SLA flags, in AIPerf's order.
fn recipe_filters(req: &SearchRequest) -> Vec<SlaFilter> {
    let mut f = Vec::new();
    if let Some(t) = req.ttft_sla_ms {
        f.push(filter("time_to_first_token", "p95", Op::Lt, t));
    }
    if let Some(t) = req.itl_sla_ms {
        f.push(filter("inter_token_latency", "p95", Op::Lt, t));
    }
    if let Some(t) = req.e2e_sla_ms {
        f.push(filter("request_latency", "p99", Op::Lt, t));
    }
    if let Some(e) = req.error_rate_sla {
        f.push(filter("request_error_rate", "avg", Op::Lt, 100.0 * e));
    }
    f
}

/// The per-request SLOs of the goodput recipes: what makes one request good.
fn recipe_slos(req: &SearchRequest) -> Slos {
    [
        ("time_to_first_token", req.ttft_sla_ms),
        ("inter_token_latency", req.itl_sla_ms),
        ("request_latency", req.e2e_sla_ms),
    ]
    .into_iter()
    .filter_map(|(t, v)| v.map(|v| (t.to_string(), v)))
    .collect()
}

fn goodput() -> Objective {
    Objective {
        metric: "goodput".into(),
        stat: "avg".into(),
        maximize: true,
    }
}

/// A recipe's own part of the search, before the user's `--search-sla` filters are appended.
struct Parts {
    dim: Dimension,
    filters: Vec<SlaFilter>,
    objective: Objective,
    planner: PlannerKind,
    slos: Slos,
    attainment: Option<f64>,
}

fn expand(req: &SearchRequest, attainment: f64) -> Result<Parts, String> {
    let smooth = req.planner.unwrap_or(PlannerKind::SmoothIsotonic);
    let plain = |dim, filters| Parts {
        dim,
        filters,
        objective: throughput(),
        planner: smooth,
        slos: Vec::new(),
        attainment: None,
    };
    let at_least = |f: f64| vec![filter("good_request_fraction", "avg", Op::Ge, f)];
    Ok(match req.recipe.as_deref() {
        None => {
            let dim = req
                .space
                .clone()
                .ok_or("--search-space is required without --search-recipe (e.g. 'concurrency:1,512:int')")?;
            Parts {
                objective: req.objective.clone().unwrap_or_else(throughput),
                ..plain(dim, Vec::new())
            }
        }
        Some("max-concurrency-under-sla") => {
            plain(load_dim(req, Sweepable::Concurrency)?, recipe_filters(req))
        }
        Some("max-request-rate-under-sla") => {
            plain(load_dim(req, Sweepable::RequestRate)?, recipe_filters(req))
        }
        Some(n @ ("max-throughput-ttft-sla" | "max-throughput-itl-sla")) => {
            let (flag, tag, v) = if n.contains("ttft") {
                ("--ttft-sla-ms", "time_to_first_token", req.ttft_sla_ms)
            } else {
                ("--itl-sla-ms", "inter_token_latency", req.itl_sla_ms)
            };
            let v = v.ok_or_else(|| format!("recipe '{n}' requires {flag}"))?;
            plain(
                load_dim(req, Sweepable::Concurrency)?,
                vec![filter(tag, "p95", Op::Lt, v)],
            )
        }
        Some(n @ "max-goodput-under-slo") => {
            let missing: Vec<&str> = [
                ("--ttft-sla-ms", req.ttft_sla_ms),
                ("--itl-sla-ms", req.itl_sla_ms),
                ("--e2e-sla-ms", req.e2e_sla_ms),
            ]
            .into_iter()
            .filter(|(_, v)| v.is_none())
            .map(|(f, _)| f)
            .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "recipe '{n}' requires {}: all three define what a good request is",
                    missing.join(", ")
                ));
            }
            Parts {
                objective: goodput(),
                slos: recipe_slos(req),
                attainment: Some(attainment),
                ..plain(load_dim(req, Sweepable::Concurrency)?, at_least(attainment))
            }
        }
        Some(n @ "max-goodput-attainment") => {
            let slos = recipe_slos(req);
            if slos.is_empty() {
                return Err(format!(
                    "recipe '{n}' requires at least one of --ttft-sla-ms, --itl-sla-ms, --e2e-sla-ms (the per-request SLOs)"
                ));
            }
            Parts {
                objective: goodput(),
                planner: req.planner.unwrap_or(PlannerKind::MonotonicSla),
                slos,
                attainment: Some(attainment),
                ..plain(load_dim(req, Sweepable::Concurrency)?, at_least(attainment))
            }
        }
        Some(other) => {
            return Err(format!(
                "--search-recipe '{other}': unknown recipe; one of {}",
                NAMES.join(", ")
            ))
        }
    })
}

/// Compiles the request into a search, or says which flag is missing or wrong.
pub fn compile(req: &SearchRequest) -> Result<SearchConfig, String> {
    let attainment = req.slo_attainment_fraction.unwrap_or(0.95);
    if !(attainment > 0.0 && attainment <= 1.0) {
        return Err(format!(
            "--slo-attainment-fraction {attainment}: must be in (0, 1]"
        ));
    }
    let mut p = expand(req, attainment)?;
    // AIPerf's short names (`ttft`, `itl`, ...) name the summary's tags.
    p.filters.extend(req.slas.iter().cloned().map(|mut f| {
        f.metric_tag = super::sla_names::canonical(&f.metric_tag).to_string();
        f
    }));
    if p.filters.is_empty() {
        return Err(match req.recipe.as_deref() {
            Some(n) => format!("recipe '{n}' requires at least one of --ttft-sla-ms, --itl-sla-ms, --e2e-sla-ms, --error-rate-sla or --search-sla"),
            None => "--search-sla is required: the SLA to search under (e.g. 'time_to_first_token:p99:le:200')".into(),
        });
    }
    if p.dim.kind != Kind::Int {
        return Err(format!(
            "--search-space {}: the {} planner searches whole numbers: add ':int'",
            p.dim.path,
            p.planner.name()
        ));
    }
    Ok(SearchConfig {
        recipe: req.recipe.clone(),
        planner: p.planner,
        max_iterations: req.max_iterations.unwrap_or(match p.planner {
            PlannerKind::MonotonicSla => 20,
            PlannerKind::SmoothIsotonic => 30,
        }),
        stability_trials: req.stability_trials.max(1),
        verify_runs: req.verify_runs,
        dim: p.dim,
        filters: p.filters,
        slos: p.slos,
        attainment: p.attainment,
        objective: p.objective,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issues_command_compiles() {
        let req = SearchRequest {
            recipe: Some("max-concurrency-under-sla".into()),
            space: Some(Dimension::parse("concurrency:1,512:int").unwrap()),
            slas: vec![SlaFilter::parse("time_to_first_token:p99:le:200").unwrap()],
            stability_trials: 2,
            ..Default::default()
        };
        let c = compile(&req).unwrap();
        assert_eq!((c.dim.lo, c.dim.hi), (1.0, 512.0));
        assert_eq!(c.filters.len(), 1);
        assert_eq!(c.planner, PlannerKind::SmoothIsotonic);
        assert_eq!(c.max_iterations, 30);
    }

    #[test]
    fn recipes_build_aiperfs_filters_in_order() {
        let req = SearchRequest {
            recipe: Some("max-concurrency-under-sla".into()),
            ttft_sla_ms: Some(200.0),
            e2e_sla_ms: Some(900.0),
            error_rate_sla: Some(0.01),
            ..Default::default()
        };
        let c = compile(&req).unwrap();
        let keys: Vec<String> = c.filters.iter().enumerate().map(|(i, f)| f.key(i)).collect();
        assert_eq!(
            keys,
            [
                "0:time_to_first_token.p95.lt.200.0",
                "1:request_latency.p99.lt.900.0",
                "2:request_error_rate.avg.lt.1.0"
            ]
        );
        assert_eq!((c.dim.lo, c.dim.hi), (1.0, 1000.0));
        let g = compile(&SearchRequest {
            recipe: Some("max-goodput-attainment".into()),
            ttft_sla_ms: Some(60.0),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(g.planner, PlannerKind::MonotonicSla);
        assert_eq!(g.slos, vec![("time_to_first_token".to_string(), 60.0)]);
        assert_eq!(g.filters[0].key(0), "0:good_request_fraction.avg.ge.0.95");
    }

    #[test]
    fn missing_pieces_are_named() {
        let e = compile(&SearchRequest {
            recipe: Some("max-concurrency-under-sla".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.contains("--ttft-sla-ms") && e.contains("--search-sla"), "{e}");
        let e = compile(&SearchRequest {
            recipe: Some("max-goodput-under-slo".into()),
            ttft_sla_ms: Some(1.0),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.contains("--itl-sla-ms, --e2e-sla-ms"), "{e}");
        let e = compile(&SearchRequest {
            recipe: Some("fastest".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.contains("unknown recipe"), "{e}");
        let e = compile(&SearchRequest {
            space: Some(Dimension::parse("concurrency:1,8:int").unwrap()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.contains("--search-sla is required"), "{e}");
        let e = compile(&SearchRequest {
            recipe: Some("max-concurrency-under-sla".into()),
            ttft_sla_ms: Some(1.0),
            concurrency_min: Some(5),
            concurrency_max: Some(5),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.contains("empty"), "{e}");
    }
}
