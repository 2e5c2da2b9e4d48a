//! Which metrics a comparison reports and which way each is better. Throughputs and goodput are
//! better higher; latencies, error rates and energy per unit of work lower; efficiency (tokens per
//! joule, per watt) higher.

/// The key metrics, `<tag>_<stat>`, in the order they are shown.
pub const KEY_METRICS: [&str; 11] = [
    "request_throughput_avg",
    "output_token_throughput_avg",
    "goodput_avg",
    "time_to_first_token_p50",
    "time_to_first_token_p99",
    "inter_token_latency_p50",
    "inter_token_latency_p99",
    "request_latency_p50",
    "request_latency_p99",
    "request_error_rate_avg",
    "nvidia_total_gpu_energy_avg",
];

/// Energy metrics (AIPerf's power-efficiency tags, per GPU vendor) shown when a summary has them.
pub const ENERGY_PREFIXES: [&str; 2] = ["nvidia_", "amd_"];

/// True when larger values of `<tag>_<stat>` are better.
pub fn higher_is_better(metric: &str) -> bool {
    const HIGHER: [&str; 7] = [
        "throughput",
        "goodput",
        "per_joule",
        "per_watt",
        "good_request",
        "tokens_per",
        "per_user",
    ];
    const LOWER: [&str; 6] = ["latency", "time_to", "error", "energy", "power", "duration"];
    if LOWER.iter().any(|w| metric.contains(w))
        && !metric.contains("per_joule")
        && !metric.contains("per_watt")
    {
        return false;
    }
    HIGHER.iter().any(|w| metric.contains(w))
}

/// The metrics to compare at one value: the key ones both sides have, then any energy metric both have.
pub fn to_compare<'a>(
    both: impl Fn(&str) -> bool,
    available: impl Iterator<Item = &'a String>,
) -> Vec<String> {
    let mut out: Vec<String> = KEY_METRICS
        .iter()
        .filter(|k| both(k))
        .map(|k| k.to_string())
        .collect();
    for k in available {
        let wanted = ENERGY_PREFIXES.iter().any(|p| k.starts_with(p)) && k.ends_with("_avg");
        if wanted && both(k) && !out.contains(k) {
            out.push(k.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions() {
        for k in [
            "request_throughput_avg",
            "output_token_throughput_avg",
            "goodput_avg",
            "nvidia_output_tokens_per_joule_avg",
            "nvidia_output_tps_per_watt_avg",
        ] {
            assert!(higher_is_better(k), "{k}");
        }
        for k in [
            "time_to_first_token_p99",
            "inter_token_latency_p50",
            "request_latency_p99",
            "request_error_rate_avg",
            "nvidia_energy_per_output_token_avg",
            "nvidia_total_gpu_energy_avg",
        ] {
            assert!(!higher_is_better(k), "{k}");
        }
    }
}
