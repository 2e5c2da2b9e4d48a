//! Small hand-written SVG charts: a plot area with labelled axes (linear, or logarithmic for
//! geometric values), lines, confidence bands, points with hover text, shaded regions and a legend.
//! Hand-written rather than plotters so the markup stays small, carries CSS classes the page styles
//! and the browser test counts (`series`, `band`, `point`), and needs no font on the machine.

use std::fmt::Write;

/// Colour-blind-safe palette (Okabe-Ito, then greys); series pick by index.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C6D1F", "#555555",
];

pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Escapes text for XML and HTML (element text and attribute values alike).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number as an axis tick or hover text shows it: few digits, no trailing noise.
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { v.to_string() };
    }
    if !(1e-5..1e6).contains(&a) {
        return format!("{v:.2e}");
    }
    if a >= 100.0 || (v.fract() == 0.0 && a >= 1.0) {
        return format!("{v:.0}");
    }
    // Three significant digits below 100.
    let decimals = (2.0 - a.log10().floor()).max(0.0) as usize;
    trim(format!("{v:.decimals$}"))
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log,
}

/// True when the values grow by a roughly constant factor (1, 2, 4, 8 …): such a sweep reads
/// best on a log axis, where each step gets the same width.
pub fn geometric(values: &[f64]) -> bool {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    if v.len() < 3 || v[0] <= 0.0 {
        return false;
    }
    let ratios: Vec<f64> = v.windows(2).map(|w| w[1] / w[0]).collect();
    let (lo, hi) = ratios
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(l, h), r| (l.min(*r), h.max(*r)));
    lo >= 1.5 && hi / lo < 1.35
}

/// One axis: what it shows (metric and unit), its scale and range, and optional fixed ticks.
#[derive(Debug, Clone)]
pub struct Axis {
    pub label: String,
    pub scale: Scale,
    pub min: f64,
    pub max: f64,
    /// Ticks to draw instead of computed ones (e.g. the swept values themselves).
    pub ticks: Option<Vec<f64>>,
}

impl Axis {
    /// An axis fitted to `values`: linear from zero when `from_zero` (throughputs, counts), padded
    /// otherwise; a log axis spans the values exactly.
    pub fn fit(
        label: impl Into<String>,
        scale: Scale,
        values: impl IntoIterator<Item = f64>,
        from_zero: bool,
    ) -> Axis {
        let vals: Vec<f64> = values
            .into_iter()
            .filter(|v| v.is_finite() && (scale == Scale::Linear || *v > 0.0))
            .collect();
        let (mut lo, mut hi) = vals.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
        if !lo.is_finite() {
            (lo, hi) = if scale == Scale::Log {
                (1.0, 10.0)
            } else {
                (0.0, 1.0)
            };
        }
        match scale {
            Scale::Log => {
                if hi <= lo {
                    (lo, hi) = (lo / 2.0, hi * 2.0);
                }
                let f = (hi / lo).powf(0.04);
                (lo, hi) = (lo / f, hi * f);
            }
            Scale::Linear => {
                if from_zero && lo >= 0.0 {
                    lo = 0.0;
                }
                if hi <= lo {
                    hi = lo + lo.abs().max(1.0);
                }
                let pad = (hi - lo) * 0.05;
                if !(from_zero && lo == 0.0) {
                    lo = if lo >= 0.0 { (lo - pad).max(0.0) } else { lo - pad };
                }
                hi += pad;
            }
        }
        Axis {
            label: label.into(),
            scale,
            min: lo,
            max: hi,
            ticks: None,
        }
    }

    pub fn with_ticks(mut self, ticks: Vec<f64>) -> Axis {
        self.ticks = Some(ticks);
        self
    }

    /// Position of `v` along the axis, 0..1.
    fn frac(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Linear => (v - self.min) / (self.max - self.min),
            Scale::Log => (v.max(f64::MIN_POSITIVE).ln() - self.min.ln()) / (self.max.ln() - self.min.ln()),
        }
    }

    fn tick_values(&self) -> Vec<f64> {
        if let Some(t) = &self.ticks {
            return t
                .iter()
                .copied()
                .filter(|v| *v >= self.min && *v <= self.max)
                .collect();
        }
        match self.scale {
            Scale::Linear => nice_ticks(self.min, self.max, 6),
            Scale::Log => {
                let mut out = Vec::new();
                let mut p = 10f64.powf(self.min.log10().floor());
                while p <= self.max * 1.0001 {
                    for m in [1.0, 2.0, 5.0] {
                        let v = p * m;
                        if v >= self.min && v <= self.max {
                            out.push(v);
                        }
                    }
                    p *= 10.0;
                }
                out
            }
        }
    }
}

/// What an axis should span: every mean, and interval ends only up to half the means' span beyond
/// them, so one wide interval (two trials make t = 12.7) cannot flatten every line to the floor;
/// never below zero when no mean is (latencies and throughputs are not negative).
pub fn span_values(means: &[f64], bounds: &[f64]) -> Vec<f64> {
    let finite = || means.iter().copied().filter(|v| v.is_finite());
    let lo = finite().fold(f64::INFINITY, f64::min);
    let hi = finite().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return Vec::new();
    }
    let reach = (hi - lo).max(hi.abs() * 0.25) * 0.5;
    let floor = if lo >= 0.0 {
        (lo - reach).max(0.0)
    } else {
        lo - reach
    };
    finite()
        .chain(
            bounds
                .iter()
                .filter(|v| v.is_finite())
                .map(|v| v.clamp(floor, hi + reach)),
        )
        .collect()
}

/// About `n` round ticks (1, 2, 5 × 10^k steps) covering `lo..hi`.
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    (0..=n * 3)
        .map(|i| first + i as f64 * step)
        .take_while(|v| *v <= hi + step * 1e-9)
        .map(|v| if v.abs() < step * 1e-9 { 0.0 } else { v })
        .collect()
}

/// Line dash patterns, to tell p50/p90/p99 apart when colour already names the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dash {
    Solid,
    Dashed,
    Dotted,
}

impl Dash {
    fn attr(self) -> &'static str {
        match self {
            Dash::Solid => "",
            Dash::Dashed => " stroke-dasharray=\"7 4\"",
            Dash::Dotted => " stroke-dasharray=\"2 3\"",
        }
    }
}

/// How a point is drawn: the frontier's filled, a dominated one grey, one outside the SLO hollow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Filled,
    Grey,
    Hollow,
}

/// A marker's shape: one per configuration, so the series stay apart without colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
}

impl Shape {
    pub fn nth(i: usize) -> Shape {
        [Shape::Circle, Shape::Square, Shape::Triangle, Shape::Diamond][i % 4]
    }

    /// The shape centred on (x, y), about 10 px across.
    fn element(self, x: f64, y: f64, attrs: &str) -> String {
        match self {
            Shape::Circle => format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\" {attrs}"),
            Shape::Square => format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"9\" height=\"9\" {attrs}",
                x - 4.5,
                y - 4.5
            ),
            Shape::Triangle => format!(
                "<path d=\"M{x:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z\" {attrs}",
                y - 6.0,
                x + 5.5,
                y + 4.0,
                x - 5.5,
                y + 4.0
            ),
            Shape::Diamond => format!(
                "<path d=\"M{x:.1},{:.1} L{:.1},{y:.1} L{x:.1},{:.1} L{:.1},{y:.1} Z\" {attrs}",
                y - 6.0,
                x + 6.0,
                y + 6.0,
                x - 6.0
            ),
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Shape::Circle => "circle",
            Shape::Square => "rect",
            Shape::Triangle | Shape::Diamond => "path",
        }
    }
}

const W: f64 = 640.0;
const H: f64 = 380.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 18.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 52.0;

/// One chart being drawn. `finish` returns the `<svg>` element.
pub struct Chart {
    id: String,
    title: String,
    x: Axis,
    y: Axis,
    body: String,
    /// Point labels, drawn above the clipped data so none is cut at the plot's edge.
    labels: String,
    /// Boxes of the labels placed so far, so the next one avoids them.
    placed: Vec<(f64, f64, f64, f64)>,
    legend: Vec<(String, &'static str, Dash)>,
    /// Marker legend entries (one per configuration).
    legend_marks: Vec<(String, &'static str, Shape)>,
    marks: usize,
    /// Bands left out because at some value they covered the whole plot height.
    wide_bands: usize,
}

impl Chart {
    pub fn new(id: &str, title: &str, x: Axis, y: Axis) -> Chart {
        Chart {
            id: id.to_string(),
            title: title.to_string(),
            x,
            y,
            body: String::new(),
            labels: String::new(),
            placed: Vec::new(),
            legend: Vec::new(),
            legend_marks: Vec::new(),
            marks: 0,
            wide_bands: 0,
        }
    }

    /// How many data marks (lines, bands, points) were drawn.
    pub fn marks(&self) -> usize {
        self.marks
    }

    fn px(&self, v: f64) -> f64 {
        LEFT + self.x.frac(v).clamp(-0.5, 1.5) * (W - LEFT - RIGHT)
    }

    fn py(&self, v: f64) -> f64 {
        H - BOTTOM - self.y.frac(v).clamp(-0.5, 1.5) * (H - TOP - BOTTOM)
    }

    fn usable(&self, x: f64, y: f64) -> bool {
        let ok = |a: &Axis, v: f64| v.is_finite() && (a.scale == Scale::Linear || v > 0.0);
        ok(&self.x, x) && ok(&self.y, y)
    }

    fn path_d(&self, pts: &[(f64, f64)]) -> String {
        let mut d = String::new();
        for (i, (x, y)) in pts.iter().filter(|(x, y)| self.usable(*x, *y)).enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { " L" },
                self.px(*x),
                self.py(*y)
            );
        }
        d
    }

    /// A named line through `pts` (in order), listed in the legend.
    pub fn line(&mut self, name: &str, pts: &[(f64, f64)], color: &'static str, dash: Dash) {
        let d = self.path_d(pts);
        if d.is_empty() {
            return;
        }
        let _ = write!(
            self.body,
            "<path class=\"series\" d=\"{d}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{}><title>{}</title></path>",
            dash.attr(),
            esc(name)
        );
        self.legend.push((name.to_string(), color, dash));
        self.marks += 1;
    }

    /// A shaded band between `lo` and `hi` at each x (a confidence interval across trials).
    pub fn band(&mut self, pts: &[(f64, f64, f64)], color: &'static str) {
        let pts: Vec<&(f64, f64, f64)> = pts
            .iter()
            .filter(|(x, lo, hi)| self.usable(*x, *lo) && self.usable(*x, *hi))
            .collect();
        if pts.len() < 2 || pts.iter().all(|(_, lo, hi)| lo == hi) {
            return;
        }
        // A band as tall as the whole plot at some value says only "within noise" and hides the
        // lines under it: it is left out and the chart says so instead.
        let floor_at = if self.y.min >= 0.0 { 0.0 } else { f64::NEG_INFINITY };
        if pts
            .iter()
            .any(|(_, lo, hi)| lo.max(floor_at) <= self.y.min && *hi >= self.y.max)
        {
            self.wide_bands += 1;
            return;
        }
        // A non-negative metric's band stops at zero: a mean minus t·se below 0 is not a value it can take.
        let floor = if self.y.min >= 0.0 { 0.0 } else { f64::NEG_INFINITY };
        let upper: Vec<(f64, f64)> = pts.iter().map(|(x, _, hi)| (*x, *hi)).collect();
        let lower: Vec<(f64, f64)> = pts.iter().rev().map(|(x, lo, _)| (*x, lo.max(floor))).collect();
        let d = format!(
            "{} {} Z",
            self.path_d(&upper),
            self.path_d(&lower).replacen('M', "L", 1)
        );
        let _ = write!(
            self.body,
            "<path class=\"band\" d=\"{d}\" fill=\"{color}\" fill-opacity=\"0.18\" stroke=\"none\"/>"
        );
        self.marks += 1;
    }

    /// A point with hover text and an optional label beside it.
    pub fn point(
        &mut self,
        x: f64,
        y: f64,
        mark: Mark,
        color: &'static str,
        label: Option<&str>,
        hover: &str,
    ) {
        if !self.usable(x, y) {
            return;
        }
        let (px, py) = (self.px(x), self.py(y));
        let (class, fill, stroke) = match mark {
            Mark::Filled => ("point", color, color),
            Mark::Grey => ("point dominated", "#b8b8b8", "#8a8a8a"),
            Mark::Hollow => ("point infeasible", "#ffffff", "#D55E00"),
        };
        let _ = write!(
            self.body,
            "<circle class=\"{class}\" cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"5\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"><title>{}</title></circle>",
            esc(hover)
        );
        if let Some(l) = label {
            self.label(px, py, l);
        }
        self.marks += 1;
    }

    /// Places a point's label at the first spot around it that stays inside the plot and overlaps
    /// no earlier label; returns false (the label is left to the point's hover text) when none does.
    fn label(&mut self, px: f64, py: f64, text: &str) -> bool {
        let w = 6.8 * text.chars().count() as f64;
        let candidates = [
            (8.0, -8.0),
            (8.0, 16.0),
            (-8.0 - w, -8.0),
            (-8.0 - w, 16.0),
            (8.0, -22.0),
            (8.0, 30.0),
            (-w / 2.0, -12.0),
            (-w / 2.0, 22.0),
        ];
        let boxed = |dx: f64, dy: f64| (px + dx, py + dy - 11.0, px + dx + w, py + dy + 2.0);
        let inside =
            |b: &(f64, f64, f64, f64)| b.0 >= LEFT && b.2 <= W - RIGHT && b.1 >= TOP && b.3 <= H - BOTTOM;
        let free = |b: &(f64, f64, f64, f64)| {
            !self
                .placed
                .iter()
                .any(|p| b.0 < p.2 && p.0 < b.2 && b.1 < p.3 && p.1 < b.3)
        };
        let Some((dx, dy)) = candidates.iter().copied().find(|(dx, dy)| {
            let b = boxed(*dx, *dy);
            inside(&b) && free(&b)
        }) else {
            return false;
        };
        let (x, y) = (px + dx, py + dy);
        self.placed.push(boxed(dx, dy));
        let _ = write!(
            self.labels,
            "<text class=\"plabel\" x=\"{x:.1}\" y=\"{y:.1}\">{}</text>",
            esc(text)
        );
        true
    }

    /// The boxes of the labels placed (left, top, right, bottom in viewBox units), for tests.
    pub fn label_boxes(&self) -> &[(f64, f64, f64, f64)] {
        &self.placed
    }

    /// A configuration's point: its shape and colour (filled on the frontier, hollow off it), hover
    /// text, and a label when one fits. Returns whether the label was placed.
    #[allow(clippy::too_many_arguments)]
    pub fn marker(
        &mut self,
        x: f64,
        y: f64,
        shape: Shape,
        color: &'static str,
        filled: bool,
        label: Option<&str>,
        hover: &str,
    ) -> bool {
        if !self.usable(x, y) {
            return false;
        }
        let (px, py) = (self.px(x), self.py(y));
        let fill = if filled { color } else { "#ffffff" };
        let attrs = format!(
            "class=\"point\" fill=\"{fill}\" stroke=\"{color}\" stroke-width=\"1.8\"><title>{}</title></{}>",
            esc(hover),
            shape.tag()
        );
        self.body.push_str(&shape.element(px, py, &attrs));
        self.marks += 1;
        label.is_some_and(|l| self.label(px, py, l))
    }

    /// Adds a marker entry to the legend (a configuration's colour and shape).
    pub fn legend_marker(&mut self, name: &str, color: &'static str, shape: Shape) {
        self.legend_marks.push((name.to_string(), color, shape));
    }

    /// Horizontal error bar (confidence interval along x) at `y`, never below zero on a non-negative axis.
    pub fn error_bar_x(&mut self, y: f64, lo: f64, hi: f64) {
        let lo = if self.x.min >= 0.0 { lo.max(0.0) } else { lo };
        if !self.usable(lo, y) || !self.usable(hi, y) || lo == hi {
            return;
        }
        let py = self.py(y);
        let _ = write!(
            self.body,
            "<path class=\"ci\" d=\"M{:.1},{py:.1} L{:.1},{py:.1}\" stroke=\"#999\" stroke-width=\"1\"/>",
            self.px(lo),
            self.px(hi)
        );
    }

    /// Vertical error bar (confidence interval) at `x`.
    pub fn error_bar(&mut self, x: f64, lo: f64, hi: f64) {
        let lo = if self.y.min >= 0.0 { lo.max(0.0) } else { lo };
        if !self.usable(x, lo) || !self.usable(x, hi) || lo == hi {
            return;
        }
        let px = self.px(x);
        let _ = write!(
            self.body,
            "<path class=\"ci\" d=\"M{px:.1},{:.1} L{px:.1},{:.1}\" stroke=\"#999\" stroke-width=\"1\"/>",
            self.py(lo),
            self.py(hi)
        );
    }

    /// A shaded rectangle in data coordinates (clamped to the plot), e.g. the SLO's feasible region.
    pub fn region(&mut self, x0: f64, x1: f64, y0: f64, y1: f64, label: &str) {
        let clampx = |v: f64| v.clamp(self.x.min, self.x.max);
        let clampy = |v: f64| v.clamp(self.y.min, self.y.max);
        let (a, b) = (self.px(clampx(x0)), self.px(clampx(x1)));
        let (c, d) = (self.py(clampy(y0)), self.py(clampy(y1)));
        let (l, r, t, bt) = (a.min(b), a.max(b), c.min(d), c.max(d));
        if r - l < 0.5 || bt - t < 0.5 {
            return;
        }
        let _ = write!(
            self.body,
            "<rect class=\"region\" x=\"{l:.1}\" y=\"{t:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#009E73\" fill-opacity=\"0.08\" stroke=\"#009E73\" stroke-dasharray=\"4 3\"/><text class=\"rlabel\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            r - l,
            bt - t,
            l + 6.0,
            bt - 6.0,
            esc(label)
        );
    }

    fn axes(&self) -> String {
        let mut s = String::new();
        let (x0, x1, y0, y1) = (LEFT, W - RIGHT, TOP, H - BOTTOM);
        for v in self.y.tick_values() {
            let py = self.py(v);
            let _ = write!(
                s,
                "<line class=\"grid\" x1=\"{x0}\" x2=\"{x1}\" y1=\"{py:.1}\" y2=\"{py:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                x0 - 6.0,
                py + 4.0,
                fmt_num(v)
            );
        }
        for v in self.x.tick_values() {
            let px = self.px(v);
            let _ = write!(
                s,
                "<line class=\"grid\" x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{y0}\" y2=\"{y1}\"/><text class=\"tick\" x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                y1 + 16.0,
                fmt_num(v)
            );
        }
        let log = |a: &Axis| if a.scale == Scale::Log { ", log scale" } else { "" };
        let _ = write!(
            s,
            "<rect class=\"frame\" x=\"{x0}\" y=\"{y0}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\"/>\
             <text class=\"axis-label x-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}{}</text>\
             <text class=\"axis-label y-label\" transform=\"translate(16,{:.1}) rotate(-90)\" text-anchor=\"middle\">{}{}</text>",
            x1 - x0,
            y1 - y0,
            (x0 + x1) / 2.0,
            H - 12.0,
            esc(&self.x.label),
            log(&self.x),
            (y0 + y1) / 2.0,
            esc(&self.y.label),
            log(&self.y)
        );
        s
    }

    /// The legend below the x axis label, wrapped into rows; returns it and the height it takes.
    fn legend_svg(&self) -> (String, f64) {
        let mut s = String::new();
        if self.legend.is_empty() && self.legend_marks.is_empty() {
            return (s, 0.0);
        }
        let (mut x, mut y) = (LEFT, H + 8.0);
        for (name, color, shape) in &self.legend_marks {
            let w = 34.0 + 7.2 * name.chars().count() as f64;
            if x + w > W - RIGHT && x > LEFT {
                x = LEFT;
                y += 16.0;
            }
            let attrs = format!(
                "class=\"legend-mark\" fill=\"{color}\" stroke=\"{color}\" stroke-width=\"1.8\"></{}>",
                shape.tag()
            );
            s.push_str(&shape.element(x + 9.0, y - 4.0, &attrs));
            let _ = write!(
                s,
                "<text class=\"legend\" x=\"{:.1}\" y=\"{y:.1}\">{}</text>",
                x + 22.0,
                esc(name)
            );
            x += w;
        }
        for (name, color, dash) in &self.legend {
            let w = 34.0 + 7.2 * name.chars().count() as f64;
            if x + w > W - RIGHT && x > LEFT {
                x = LEFT;
                y += 16.0;
            }
            let _ = write!(
                s,
                "<path d=\"M{x:.1},{:.1} h18\" stroke=\"{color}\" stroke-width=\"2\"{}/><text class=\"legend\" x=\"{:.1}\" y=\"{y:.1}\">{}</text>",
                y - 4.0,
                dash.attr(),
                x + 22.0,
                esc(name)
            );
            x += w;
        }
        (s, y - H + 8.0)
    }

    /// The finished `<svg>`; `data-marks` holds how many data marks it has. The data is clipped to
    /// the plot area, so a confidence band wider than the axis is cut at its edge.
    pub fn finish(self) -> String {
        let id = esc(&self.id);
        let (legend, legend_h) = self.legend_svg();
        let wide = if self.wide_bands > 0 {
            format!(
                "<text class=\"wide-band\" x=\"{}\" y=\"{}\">{} confidence band(s) taller than the chart not drawn: within noise</text>",
                LEFT + 8.0,
                TOP + 16.0,
                self.wide_bands
            )
        } else {
            String::new()
        };
        format!(
            "<svg class=\"chart\" id=\"{id}\" data-marks=\"{}\" viewBox=\"0 0 {W} {}\" role=\"img\" aria-label=\"{}\"><clipPath id=\"clip-{id}\"><rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{}\" height=\"{}\"/></clipPath><text class=\"title\" x=\"{LEFT}\" y=\"22\">{}</text>{}{}{wide}<g class=\"data\" clip-path=\"url(#clip-{id})\">{}</g><g class=\"labels\">{}</g></svg>",
            self.marks,
            H + legend_h,
            esc(&self.title),
            W - LEFT - RIGHT,
            H - TOP - BOTTOM,
            esc(&self.title),
            self.axes(),
            legend,
            self.body,
            self.labels
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometric_values_get_a_log_axis_and_even_ones_do_not() {
        assert!(geometric(&[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]));
        assert!(geometric(&[10.0, 100.0, 1000.0]));
        assert!(!geometric(&[10.0, 20.0, 30.0, 40.0]));
        assert!(!geometric(&[2.0, 4.0]), "two values are no progression");
        assert!(!geometric(&[0.0, 1.0, 2.0, 4.0]));
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(
            nice_ticks(0.0, 100.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        let t = nice_ticks(0.13, 0.92, 6);
        assert!(t.first().unwrap() >= &0.13 && t.last().unwrap() <= &0.92, "{t:?}");
        let log = Axis::fit("x", Scale::Log, [1.0, 64.0], false);
        assert!(log.tick_values().contains(&10.0));
    }

    #[test]
    fn a_chart_draws_labelled_axes_and_its_marks() {
        let x = Axis::fit("concurrency", Scale::Log, [1.0, 2.0, 4.0], false).with_ticks(vec![1.0, 2.0, 4.0]);
        let y = Axis::fit(
            "request_throughput (requests/sec)",
            Scale::Linear,
            [10.0, 30.0],
            true,
        );
        let mut c = Chart::new("thr", "Throughput <by> concurrency", x, y);
        c.band(
            &[(1.0, 9.0, 11.0), (2.0, 18.0, 22.0), (4.0, 28.0, 32.0)],
            color(0),
        );
        c.line(
            "mean",
            &[(1.0, 10.0), (2.0, 20.0), (4.0, 30.0)],
            color(0),
            Dash::Solid,
        );
        c.point(
            4.0,
            30.0,
            Mark::Filled,
            color(0),
            Some("concurrency=4"),
            "30 requests/sec",
        );
        assert_eq!(c.marks(), 3);
        let s = c.finish();
        assert!(s.contains("concurrency, log scale") && s.contains("request_throughput (requests/sec)"));
        assert!(s.contains("Throughput &lt;by&gt; concurrency"), "text is escaped");
        assert!(
            s.contains("class=\"series\" d=\"M")
                && s.contains("class=\"band\"")
                && s.contains("concurrency=4")
        );
        assert!(s.contains("data-marks=\"3\""));
    }
}
