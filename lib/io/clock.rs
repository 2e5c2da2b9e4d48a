//! Wall-clock anchoring. Durations are measured on the monotonic clock (`Instant`); wall-clock epoch
//! nanoseconds for records are derived from one anchor taken at start, so they never jump with NTP
//! and differences between them equal the monotonic durations exactly.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    anchor: Instant,
    anchor_wall_ns: u64,
}

impl Clock {
    /// Takes the anchor now.
    pub fn new() -> Clock {
        let anchor = Instant::now();
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Clock {
            anchor,
            anchor_wall_ns: wall.as_nanos() as u64,
        }
    }

    /// Wall-clock epoch ns corresponding to a monotonic instant.
    pub fn wall_ns(&self, t: Instant) -> u64 {
        if t >= self.anchor {
            self.anchor_wall_ns + (t - self.anchor).as_nanos() as u64
        } else {
            self.anchor_wall_ns - (self.anchor - t).as_nanos() as u64
        }
    }

    pub fn now_ns(&self) -> u64 {
        self.wall_ns(Instant::now())
    }

    pub fn anchor(&self) -> Instant {
        self.anchor
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// ISO-8601 UTC with microseconds and no zone suffix, as AIPerf writes `start_time`/`end_time`
/// (`2026-11-27T23:17:22.373520`).
pub fn iso_utc(epoch_ns: u64) -> String {
    let secs = (epoch_ns / 1_000_000_000) as i64;
    let micros = (epoch_ns % 1_000_000_000) / 1_000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parses what `iso_utc` writes (fraction optional, a trailing `Z` or `+00:00` accepted); None
/// for a time outside 1970..2554 (beyond u64 nanoseconds).
pub fn parse_iso_utc(s: &str) -> Option<u64> {
    let (secs, frac_ns) = civil_seconds(s)?;
    u64::try_from(secs)
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(frac_ns)
}

/// Seconds since the epoch (negative before 1970) and the fraction's ns of an ISO time in UTC,
/// for any year 0..=9999.
fn civil_seconds(s: &str) -> Option<(i64, u64)> {
    let s = s.trim().trim_end_matches('Z').trim_end_matches("+00:00");
    let (date, time) = s.split_once('T').or_else(|| s.split_once(' '))?;
    let mut dp = date.split('-');
    let (y, m, d): (i64, u32, u32) = (
        dp.next()?.parse().ok()?,
        dp.next()?.parse().ok()?,
        dp.next()?.parse().ok()?,
    );
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut tp = hms.split(':');
    let (hh, mm, ss): (i64, i64, i64) = (
        tp.next()?.parse().ok()?,
        tp.next()?.parse().ok()?,
        tp.next()?.parse().ok()?,
    );
    let mut frac_ns = 0u64;
    if !frac.is_empty() {
        let digits: String = frac.chars().take(9).collect();
        frac_ns = digits.parse::<u64>().ok()? * 10u64.pow(9 - digits.len() as u32);
    }
    if !(0..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
        || !(0..24).contains(&hh)
        || !(0..60).contains(&mm)
        || !(0..=60).contains(&ss)
    {
        return None;
    }
    let days = days_from_civil(y, m, d);
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss, frac_ns))
}

/// Parses an RFC 3339 time with its zone (`2026-11-28T23:40:00Z`, `…+02:00`, `…-05:30`, a
/// fraction optional) to epoch ns. A time without a zone is refused: a shard on another host
/// could read it in another zone.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let (secs, frac_ns) = rfc3339_seconds(s)?;
    u64::try_from(secs)
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(frac_ns)
}

/// An RFC 3339 time as epoch seconds (any year 0..=9999, negative before 1970) and the
/// fraction's ns: what [`parse_rfc3339`] reads, before it must fit u64 nanoseconds.
pub fn rfc3339_seconds(s: &str) -> Option<(i64, u64)> {
    let s = s.trim();
    let (local, offset_s): (&str, i64) = if let Some(l) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z'))
    {
        (l, 0)
    } else {
        let (l, off) = s.split_at(s.len().checked_sub(6)?);
        let sign = match off.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let (h, m) = off[1..].split_once(':')?;
        let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
        if h > 23 || m > 59 {
            return None;
        }
        (l, sign * (h * 3600 + m * 60))
    };
    if !local.contains(['T', 't', ' ']) {
        return None;
    }
    let (secs, frac_ns) = civil_seconds(&local.replace('t', "T"))?;
    Some((secs - offset_s, frac_ns))
}

// Howard Hinnant's civil-date algorithms.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip() {
        // 2026-11-27T23:17:22.373520 is the start_time of the a_single_c8_n200 artifact.
        let ns = parse_iso_utc("2026-11-27T23:17:22.373520").unwrap();
        assert_eq!(iso_utc(ns), "2026-11-27T23:17:22.373520");
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00.000000");
        assert_eq!(
            parse_iso_utc("2000-03-01T00:00:00Z").unwrap(),
            951_868_800 * 1_000_000_000
        );
    }

    #[test]
    fn rfc3339_with_zones() {
        let z = parse_rfc3339("2000-03-01T00:00:00Z").unwrap();
        assert_eq!(z, 951_868_800 * 1_000_000_000);
        assert_eq!(parse_rfc3339("2000-03-01T02:00:00+02:00"), Some(z));
        assert_eq!(
            parse_rfc3339("2000-02-29T19:30:00.5-04:30"),
            Some(z + 500_000_000)
        );
        assert_eq!(parse_rfc3339("2000-03-01T00:00:00"), None);
        assert_eq!(parse_rfc3339("tomorrow"), None);
    }

    #[test]
    fn wall_ns_tracks_monotonic_differences() {
        let c = Clock::new();
        let t = c.anchor() + Duration::from_nanos(1_234_567);
        assert_eq!(c.wall_ns(t) - c.wall_ns(c.anchor()), 1_234_567);
    }
}
