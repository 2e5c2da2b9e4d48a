//! A deliberate worker panic, for tests only: with `SWEEPKIT_INJECT_PANIC=after:N` in its
//! environment, loadgen's sender panics instead of sending its next request once N requests have
//! been sent. No user input can reach a panic, so this is how a test checks end to end that a
//! worker's panic still fails the run (`end.reason: failed`, exit 2, the message in the run info)
//! with every record measured before it on disk. Not a flag, so it stays out of `--help`.

use std::sync::OnceLock;

/// The environment variable read (once per process).
pub const VAR: &str = "SWEEPKIT_INJECT_PANIC";

/// Panics when the variable says `after:N` and `sent` (requests sent so far) is N.
pub fn check(sent: u64) {
    static AFTER: OnceLock<Option<u64>> = OnceLock::new();
    let after = AFTER.get_or_init(|| parse(std::env::var(VAR).ok().as_deref()));
    if *after == Some(sent) {
        panic!("{VAR}=after:{sent}: a panic injected by a test");
    }
}

/// `after:N` as N; anything else injects nothing.
fn parse(v: Option<&str>) -> Option<u64> {
    v?.strip_prefix("after:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_after_n_injects_a_panic() {
        assert_eq!(parse(Some("after:4")), Some(4));
        assert_eq!(parse(Some("after:x")), None);
        assert_eq!(parse(Some("4")), None);
        assert_eq!(parse(None), None);
    }
}
