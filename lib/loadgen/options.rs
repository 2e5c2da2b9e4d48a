//! Typed options for one loadgen run, and Contract A: reading one plan line (`--spec`).
//!
//! Both the flags and the plan line's `loadgen` object are first expressed as [`Settings`] (every
//! field optional, keys = the long flag names in snake_case). The spec is merged under the flags
//! (a flag always wins), then [`Settings::resolve`] fills AIPerf's defaults and checks the whole.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EndpointType {
    #[default]
    Chat,
    Completions,
    Embeddings,
}

impl EndpointType {
    pub fn default_path(self) -> &'static str {
        match self {
            EndpointType::Chat => "/v1/chat/completions",
            EndpointType::Completions => "/v1/completions",
            EndpointType::Embeddings => "/v1/embeddings",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            EndpointType::Chat => "chat",
            EndpointType::Completions => "completions",
            EndpointType::Embeddings => "embeddings",
        }
    }
    /// Whether the endpoint produces output tokens (embeddings do not).
    pub fn produces_tokens(self) -> bool {
        self != EndpointType::Embeddings
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalPattern {
    Constant,
    #[default]
    Poisson,
    Gamma,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetType {
    SingleTurn,
    MooncakeTrace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Ui {
    #[default]
    Simple,
    None,
}

/// Every option as given (flags or a plan line's `loadgen` object); `None` = not given.
/// The serde names are Contract A's keys; an unknown key is an error naming it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_type: Option<EndpointType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streaming: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrival_pattern: Option<ArrivalPattern>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrival_smoothness: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency_ramp_duration: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub benchmark_duration: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub benchmark_grace_period: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_request_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isl: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isl_stddev: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub osl: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub osl_stddev: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_legacy_max_tokens: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_prompts: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub random_seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_inputs: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_timeout_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_server_token_count: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_dataset_type: Option<DatasetType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ui: Option<Ui>,
}

/// What the run needs besides [`Settings`]: outputs and secrets (never in a plan line).
#[derive(Debug, Clone, Default)]
pub struct Io {
    pub output: Option<PathBuf>,
    pub line_buffered: bool,
    pub inputs_out: Option<PathBuf>,
    pub run_info_out: Option<PathBuf>,
    pub api_key: Option<String>,
    /// Extra request headers `(name, value)`; values are secrets as far as logs are concerned.
    pub headers: Vec<(String, String)>,
    /// The command line with secrets redacted, for the run info.
    pub cli_command: String,
    /// Run the event loop at SCHED_FIFO priority 1 (shared machines; needs root or CAP_SYS_NICE).
    pub realtime: bool,
    /// Extra trusted root certificates (PEM) for https endpoints with a private or self-signed CA.
    pub ca_cert: Option<PathBuf>,
}

/// The resolved options of one run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:8000`.
    pub url: String,
    pub endpoint_type: EndpointType,
    /// Request path, e.g. `/v1/chat/completions`.
    pub endpoint: String,
    pub model: String,
    pub streaming: bool,
    /// Closed loop: requests kept in flight. With a rate: the in-flight cap.
    pub concurrency: Option<u64>,
    /// Open loop: requests/s.
    pub request_rate: Option<f64>,
    pub arrival_pattern: ArrivalPattern,
    /// Gamma shape (1.0 = Poisson).
    pub arrival_smoothness: f64,
    /// Closed loop: seconds over which the workers start, evenly spread (0 = all at once).
    pub concurrency_ramp_duration: f64,
    /// Requests in the profiling phase (None: a duration run).
    pub request_count: Option<u64>,
    /// Seconds of dispatch in the profiling phase.
    pub benchmark_duration: Option<f64>,
    /// Seconds to wait for in-flight requests after the duration (or after Ctrl-C).
    pub benchmark_grace_period: f64,
    pub warmup_request_count: u64,
    pub isl: u64,
    pub isl_stddev: f64,
    pub osl: Option<u64>,
    pub osl_stddev: f64,
    pub use_legacy_max_tokens: bool,
    pub num_prompts: u64,
    pub random_seed: u64,
    /// Whether the seed was given (the run info reports `null` otherwise, as AIPerf does).
    pub seed_given: bool,
    pub extra_inputs: Map<String, Value>,
    pub request_timeout_seconds: f64,
    pub tokenizer: String,
    pub use_server_token_count: bool,
    pub input_file: Option<PathBuf>,
    pub custom_dataset_type: DatasetType,
    pub ui: Ui,
    pub io: Io,
    /// The plan line's top-level keys other than `loadgen` (Contract A's "place"), copied into the run info.
    pub place: Map<String, Value>,
}

impl Options {
    /// Full request URL.
    pub fn request_url(&self) -> String {
        format!("{}{}", self.url, self.endpoint)
    }
}

/// One plan line: the `loadgen` settings and the rest ("place").
pub struct Spec {
    pub settings: Settings,
    pub place: Map<String, Value>,
}

/// Reads `--spec FILE|-`: exactly one non-blank JSON line (Contract A).
pub fn read_spec(path: &Path) -> anyhow::Result<Spec> {
    let (name, text) = if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .context("--spec -: cannot read stdin")?;
        ("<stdin>".to_string(), s)
    } else {
        let s = std::fs::read_to_string(path)
            .map_err(|e| anyhow!("--spec {}: cannot read: {e}", path.display()))?;
        (path.display().to_string(), s)
    };
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l))
        .collect();
    match lines.len() {
        0 => bail!("--spec {name}: no plan line (expected one JSON object from sweep-plan)"),
        1 => {}
        n => {
            bail!("--spec {name}: {n} plan lines; give one (e.g. `sed -n 3p plan.jsonl | loadgen --spec -`)")
        }
    }
    let (line_no, line) = lines[0];
    parse_spec(line).map_err(|e| anyhow!("--spec {name}:{line_no}: {e}"))
}

/// Parses one plan line.
pub fn parse_spec(line: &str) -> Result<Spec, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(mut top) = v else {
        return Err("a plan line must be a JSON object".into());
    };
    let lg = top.remove("loadgen").unwrap_or(Value::Object(Map::new()));
    if !lg.is_object() {
        return Err("\"loadgen\" must be a JSON object of loadgen options".into());
    }
    let mut settings: Settings = serde_json::from_value(lg)
        .map_err(|e| format!("\"loadgen\": {e} (keys are loadgen's long flag names in snake_case)"))?;
    if settings.random_seed.is_none() {
        settings.random_seed = top.get("seed").and_then(Value::as_u64);
    }
    if top.get("warmup") == Some(&Value::Bool(false)) {
        settings.warmup_request_count = None;
    }
    Ok(Spec { settings, place: top })
}

impl Settings {
    /// `self` (the flags) over `base` (the spec): every field the flags set wins.
    pub fn over(self, base: Settings) -> anyhow::Result<Settings> {
        let mut merged = match serde_json::to_value(base)? {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        if let Value::Object(flags) = serde_json::to_value(self)? {
            merged.extend(flags);
        }
        Ok(serde_json::from_value(Value::Object(merged))?)
    }

    /// Fills the defaults and checks the combination.
    pub fn resolve(self, io: Io, place: Map<String, Value>) -> anyhow::Result<Options> {
        let endpoint_type = self.endpoint_type.unwrap_or_default();
        let mut url = self.url.unwrap_or_else(|| "http://localhost:8000".into());
        if !url.contains("://") {
            url = format!("http://{url}");
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("--url {url}: only http:// and https:// URLs are supported");
        }
        while url.ends_with('/') {
            url.pop();
        }
        let mut endpoint = self
            .endpoint
            .unwrap_or_else(|| endpoint_type.default_path().to_string());
        if !endpoint.starts_with('/') {
            endpoint.insert(0, '/');
        }
        let model = self.model.filter(|m| !m.is_empty()).ok_or_else(|| {
            anyhow!("--model is required (the model name the server serves, e.g. --model mock-model)")
        })?;
        let streaming = self.streaming.unwrap_or(false);
        if streaming && endpoint_type == EndpointType::Embeddings {
            bail!("--streaming: the embeddings endpoint does not stream; drop --streaming");
        }
        if self.concurrency == Some(0) {
            bail!("--concurrency 0: must be at least 1");
        }
        if let Some(r) = self.request_rate {
            if !(r.is_finite() && r > 0.0) {
                bail!("--request-rate {r}: must be a positive number of requests/s");
            }
        }
        if self.request_count.is_some() && self.benchmark_duration.is_some() {
            bail!("--request-count and --benchmark-duration are mutually exclusive: give one");
        }
        if self.request_count == Some(0) {
            bail!("--request-count 0: must be at least 1");
        }
        if let Some(d) = self.benchmark_duration {
            if !(d.is_finite() && d > 0.0) {
                bail!("--benchmark-duration {d}: must be a positive number of seconds");
            }
        }
        let grace = self.benchmark_grace_period.unwrap_or(30.0);
        if grace.is_nan() || grace < 0.0 {
            bail!("--benchmark-grace-period {grace}: must be >= 0 seconds (inf allowed)");
        }
        let smooth = self.arrival_smoothness.unwrap_or(1.0);
        if !(smooth.is_finite() && smooth > 0.0) {
            bail!("--arrival-smoothness {smooth}: must be a positive number (the gamma shape)");
        }
        let ramp = self.concurrency_ramp_duration.unwrap_or(0.0);
        if !(ramp.is_finite() && ramp >= 0.0) {
            bail!("--concurrency-ramp-duration {ramp}: must be >= 0 seconds");
        }
        let timeout = self.request_timeout_seconds.unwrap_or(21600.0);
        if !(timeout.is_finite() && timeout > 0.0) {
            bail!("--request-timeout-seconds {timeout}: must be a positive number of seconds");
        }
        let isl = self.isl.unwrap_or(550);
        if isl == 0 {
            bail!("--isl 0: a prompt needs at least one token");
        }
        for (flag, v) in [
            ("--isl-stddev", self.isl_stddev),
            ("--osl-stddev", self.osl_stddev),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && v >= 0.0) {
                    bail!("{flag} {v}: must be >= 0");
                }
            }
        }
        if self.osl == Some(0) {
            bail!("--osl 0: ask for at least one output token (or leave --osl out to let the server decide)");
        }
        let num_prompts = self.num_prompts.unwrap_or(100);
        if num_prompts == 0 {
            bail!("--num-prompts 0: must be at least 1");
        }
        if self.custom_dataset_type.is_some() && self.input_file.is_none() {
            bail!("--custom-dataset-type needs --input-file");
        }
        if self.concurrency.is_none() && self.request_rate.is_none() && self.input_file.is_none() {
            // AIPerf's default load: one request at a time.
        }
        Ok(Options {
            url,
            endpoint_type,
            endpoint,
            model,
            streaming,
            concurrency: self.concurrency,
            request_rate: self.request_rate,
            arrival_pattern: self.arrival_pattern.unwrap_or_default(),
            arrival_smoothness: smooth,
            concurrency_ramp_duration: ramp,
            request_count: self.request_count,
            benchmark_duration: self.benchmark_duration,
            benchmark_grace_period: grace,
            warmup_request_count: self.warmup_request_count.unwrap_or(0),
            isl,
            isl_stddev: self.isl_stddev.unwrap_or(0.0),
            osl: self.osl,
            osl_stddev: self.osl_stddev.unwrap_or(0.0),
            use_legacy_max_tokens: self.use_legacy_max_tokens.unwrap_or(false),
            num_prompts,
            seed_given: self.random_seed.is_some(),
            random_seed: self.random_seed.unwrap_or(0),
            extra_inputs: self.extra_inputs.unwrap_or_default(),
            request_timeout_seconds: timeout,
            tokenizer: self.tokenizer.unwrap_or_else(|| "builtin".into()),
            use_server_token_count: self.use_server_token_count.unwrap_or(false),
            input_file: self.input_file,
            custom_dataset_type: self.custom_dataset_type.unwrap_or(DatasetType::SingleTurn),
            ui: self.ui.unwrap_or_default(),
            io,
            place,
        })
    }
}

/// Parses `--extra-inputs` values: `k:v` pairs (v parsed as JSON when it is JSON, else a string)
/// or one JSON object.
pub fn parse_extra_inputs(items: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut out = Map::new();
    for item in items {
        let t = item.trim();
        if t.starts_with('{') {
            let v: Value =
                serde_json::from_str(t).map_err(|e| anyhow!("--extra-inputs {t}: not a JSON object: {e}"))?;
            if let Value::Object(m) = v {
                out.extend(m);
            }
            continue;
        }
        let (k, v) = t.split_once(':').ok_or_else(|| {
            anyhow!("--extra-inputs {t}: expected key:value (e.g. ignore_eos:true) or a JSON object")
        })?;
        if k.trim().is_empty() {
            bail!("--extra-inputs {t}: empty key");
        }
        let v = v.trim();
        let value = serde_json::from_str::<Value>(v).unwrap_or_else(|_| Value::String(v.to_string()));
        out.insert(k.trim().to_string(), value);
    }
    Ok(out)
}

/// Parses `--header K:V` values.
pub fn parse_headers(items: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for item in items {
        let (k, v) = item.split_once(':').ok_or_else(|| {
            anyhow!("--header: expected Name:Value (e.g. --header X-Team:infra), got a value without ':'")
        })?;
        let k = k.trim();
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)) {
            bail!("--header: '{k}' is not a valid header name");
        }
        out.push((k.to_string(), v.trim().to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_spec_and_place_is_kept() {
        let spec = parse_spec(r#"{"run_index":0,"trial":1,"trial_label":"trial_0001","variation_label":"concurrency_10","parameters":{"concurrency":10},"seed":42,"warmup":true,"loadgen":{"url":"127.0.0.1:9","model":"m","concurrency":10,"streaming":true,"osl":32}}"#).unwrap();
        let flags = Settings {
            concurrency: Some(4),
            ..Default::default()
        };
        let o = flags
            .over(spec.settings)
            .unwrap()
            .resolve(Io::default(), spec.place)
            .unwrap();
        assert_eq!(o.concurrency, Some(4));
        assert_eq!(o.url, "http://127.0.0.1:9");
        assert_eq!(o.random_seed, 42);
        assert!(o.streaming);
        assert_eq!(o.osl, Some(32));
        assert_eq!(o.place["trial_label"], "trial_0001");
        assert!(!o.place.contains_key("loadgen"));
    }

    #[test]
    fn unknown_spec_key_is_named() {
        let err = parse_spec(r#"{"loadgen":{"model":"m","concurency":3}}"#)
            .err()
            .unwrap();
        assert!(err.contains("concurency"), "{err}");
        let err = parse_spec("{oops").err().unwrap();
        assert!(err.contains("not valid JSON"), "{err}");
    }

    #[test]
    fn bad_combinations_name_the_flag() {
        let base = || Settings {
            model: Some("m".into()),
            ..Default::default()
        };
        let e = Settings {
            request_count: Some(3),
            benchmark_duration: Some(1.0),
            ..base()
        }
        .resolve(Io::default(), Map::new());
        assert!(e.unwrap_err().to_string().contains("--request-count"));
        let e = Settings {
            model: None,
            ..Default::default()
        }
        .resolve(Io::default(), Map::new());
        assert!(e.unwrap_err().to_string().contains("--model"));
        let e = Settings {
            request_rate: Some(-1.0),
            ..base()
        }
        .resolve(Io::default(), Map::new());
        assert!(e.unwrap_err().to_string().contains("--request-rate"));
    }

    #[test]
    fn extra_inputs_and_headers_parse() {
        let m =
            parse_extra_inputs(&["ignore_eos:true".into(), "min_tokens:5".into(), "tag:abc".into()]).unwrap();
        assert_eq!(m["ignore_eos"], Value::Bool(true));
        assert_eq!(m["min_tokens"], 5);
        assert_eq!(m["tag"], "abc");
        assert!(parse_extra_inputs(&["nocolon".into()]).is_err());
        assert_eq!(
            parse_headers(&["X-A: b:c".into()]).unwrap(),
            vec![("X-A".into(), "b:c".into())]
        );
    }
}
