//! Confidence statistics of one value measured across trials (AIPerf's `ConfidenceAggregation`):
//! mean, sample std (n−1), cv, standard error and a Student-t interval at the confidence level.
//! One trial degrades to a collapsed interval (std 0, `t_critical` undefined), as AIPerf does.

use serde::ser::{Serialize, SerializeMap, Serializer};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Across-trial statistics of one `<tag>_<stat>`. Non-finite values are written as JSON `null`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfidenceStats {
    /// Number of trials that had a finite value.
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (ddof = 1); 0 for one trial.
    pub std: f64,
    pub min: f64,
    pub max: f64,
    /// `std / mean` as a ratio (not %); +inf when mean is 0 (AIPerf's rule, not abs(mean)).
    pub cv: f64,
    /// Standard error `std / sqrt(n)`.
    pub se: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Two-sided Student-t quantile at `1 - (1 - CL)/2` with n−1 degrees of freedom; NaN for n = 1.
    pub t_critical: f64,
}

/// The two-sided Student-t critical value for `df` degrees of freedom at confidence level `cl`.
pub fn t_critical(cl: f64, df: f64) -> f64 {
    if df.is_nan() || df <= 0.0 || cl.is_nan() || cl <= 0.0 || cl >= 1.0 {
        return f64::NAN;
    }
    let p = 1.0 - (1.0 - cl) / 2.0;
    let dist = match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => d,
        Err(_) => return f64::NAN,
    };
    let mut t = dist.inverse_cdf(p);
    // Polish with Newton steps on the CDF: the inverse is computed through an incomplete-beta
    // inversion whose last digits can be off; two steps bring it to the last ulp or so.
    use statrs::distribution::Continuous;
    for _ in 0..3 {
        let f = dist.cdf(t) - p;
        let d = dist.pdf(t);
        if d.is_nan() || d <= 0.0 || f == 0.0 {
            break;
        }
        let next = t - f / d;
        if !next.is_finite() {
            break;
        }
        t = next;
    }
    t
}

/// Aggregates the finite values of one metric across trials; `None` when there are none.
pub fn aggregate(values: &[f64], confidence_level: f64) -> Option<ConfidenceStats> {
    let xs: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = xs.len();
    if n == 0 {
        return None;
    }
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        let x = xs[0];
        return Some(ConfidenceStats {
            n,
            mean: x,
            std: 0.0,
            min: x,
            max: x,
            cv: 0.0,
            se: 0.0,
            ci_low: x,
            ci_high: x,
            t_critical: f64::NAN,
        });
    }
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n as f64 - 1.0);
    let std = var.sqrt();
    let cv = if mean == 0.0 { f64::INFINITY } else { std / mean };
    let se = std / (n as f64).sqrt();
    let t = t_critical(confidence_level, n as f64 - 1.0);
    Some(ConfidenceStats {
        n,
        mean,
        std,
        min,
        max,
        cv,
        se,
        ci_low: mean - t * se,
        ci_high: mean + t * se,
        t_critical: t,
    })
}

/// The interval of a metric that cannot be negative (times, rates, counts), for display: the
/// Student-t interval is symmetric and with few trials reaches below zero, so its lower end is
/// clamped at 0 and the third value says it was. The JSON aggregates keep AIPerf's raw interval.
pub fn non_negative(s: &ConfidenceStats) -> (f64, f64, bool) {
    let clamped = s.ci_low < 0.0 && s.mean >= 0.0;
    (if clamped { 0.0 } else { s.ci_low }, s.ci_high, clamped)
}

/// A float as JSON: finite numbers as numbers, NaN and ±inf as `null` (AIPerf's rule).
pub fn json_num(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

/// A stats block with its unit, in AIPerf's key order.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitStats {
    pub stats: ConfidenceStats,
    pub unit: String,
}

impl Serialize for UnitStats {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = &self.stats;
        let mut m = s.serialize_map(Some(10))?;
        for (k, v) in [
            ("mean", c.mean),
            ("std", c.std),
            ("min", c.min),
            ("max", c.max),
            ("cv", c.cv),
            ("se", c.se),
            ("ci_low", c.ci_low),
            ("ci_high", c.ci_high),
            ("t_critical", c.t_critical),
        ] {
            m.serialize_entry(k, &json_num(v))?;
        }
        m.serialize_entry("unit", &self.unit)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        a == b || ((a - b).abs() / b.abs().max(1e-300)) < 1e-12
    }

    /// TV1 of test-vectors.md: (values, CL, mean, std, cv, se, t, ci_low, ci_high).
    #[test]
    fn tv1_confidence_vectors() {
        let ones: Vec<f64> = (1..=10).map(|i| i as f64).collect();
        let cases: Vec<(Vec<f64>, f64, [f64; 7])> = vec![
            (
                vec![100., 110., 105.],
                0.95,
                [
                    105.0,
                    5.0,
                    0.047619047619047616,
                    2.886751345948129,
                    4.302652729749462,
                    92.57931144124835,
                    117.42068855875165,
                ],
            ),
            (
                vec![100., 110., 105., 95., 108.],
                0.95,
                [
                    103.6,
                    6.107372593840988,
                    0.058951472913523054,
                    2.7313000567495322,
                    2.7764451051977934,
                    96.0166953266113,
                    111.18330467338869,
                ],
            ),
            (
                vec![150., 152., 148., 155., 151.],
                0.95,
                [
                    151.2,
                    2.588435821108957,
                    0.017119284531143895,
                    1.1575836902790224,
                    2.7764451051977934,
                    147.986032429268,
                    154.41396757073198,
                ],
            ),
            (
                ones,
                0.99,
                [
                    5.5,
                    3.0276503540974917,
                    0.5504818825631803,
                    0.9574271077563381,
                    3.249835541592126,
                    2.3885193567296983,
                    8.611480643270301,
                ],
            ),
            (
                vec![1., 2., 3.],
                0.95,
                [
                    2.0,
                    1.0,
                    0.5,
                    0.5773502691896258,
                    4.302652729749462,
                    -0.48413771175033027,
                    4.48413771175033,
                ],
            ),
            (
                vec![10., 12., 11.],
                0.90,
                [
                    11.0,
                    1.0,
                    0.09090909090909091,
                    0.5773502691896258,
                    2.9199855803537242,
                    9.314145539152952,
                    12.685854460847048,
                ],
            ),
            (
                vec![100., 110.],
                0.99,
                [
                    105.0,
                    7.0710678118654755,
                    0.06734350297014739,
                    5.0,
                    63.656741162871526,
                    -213.28370581435763,
                    423.28370581435763,
                ],
            ),
        ];
        for (xs, cl, e) in cases {
            let s = aggregate(&xs, cl).unwrap();
            let got = [s.mean, s.std, s.cv, s.se, s.t_critical, s.ci_low, s.ci_high];
            for (i, (g, w)) in got.iter().zip(e.iter()).enumerate() {
                assert!(close(*g, *w), "{xs:?} CL {cl}: field {i}: got {g:?}, want {w:?}");
            }
        }
    }

    #[test]
    fn tv1_zero_mean_and_single_run() {
        let s = aggregate(&[0.0, 0.0], 0.95).unwrap();
        assert_eq!(
            (s.mean, s.std, s.se, s.ci_low, s.ci_high),
            (0.0, 0.0, 0.0, 0.0, 0.0)
        );
        assert!(s.cv.is_infinite() && s.cv > 0.0);
        assert!(close(s.t_critical, 12.706204736174694), "{}", s.t_critical);
        let one = aggregate(&[100.0], 0.95).unwrap();
        assert_eq!(
            (
                one.mean,
                one.std,
                one.cv,
                one.se,
                one.ci_low,
                one.ci_high,
                one.min,
                one.max
            ),
            (100.0, 0.0, 0.0, 0.0, 100.0, 100.0, 100.0, 100.0)
        );
        assert!(one.t_critical.is_nan());
        let j = serde_json::to_value(UnitStats {
            stats: one,
            unit: "ms".into(),
        })
        .unwrap();
        assert_eq!(j["t_critical"], serde_json::Value::Null);
        assert_eq!(aggregate(&[f64::NAN], 0.95), None);
        // Non-finite trial values are skipped, not averaged in.
        assert_eq!(aggregate(&[f64::INFINITY, 5.0], 0.95).unwrap().n, 1);
    }
}
