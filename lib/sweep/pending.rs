//! Which runs of a plan still need running: what `scripts/profile --resume` reruns. A run is done
//! when its folder holds a summary, no `run_error.txt`, records that end on a whole line, and a
//! run info that says it completed; anything less (interrupted, stopped early, torn, failed) is
//! pending, and the reason says which. A run skipped on purpose (`run_skipped.txt`: its value
//! converged, or lay past the knee) is done: a resumed sweep keeps it skipped.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::artifacts::{RUN_ERROR_FILE, RUN_SKIPPED_FILE, SUMMARY_JSON};
use crate::contract::plan_line::PlanLine;
use crate::contract::run_info::{AnyRunInfo, EndReason};

/// The records file loadgen writes in a run folder.
const RECORDS: &str = "profile_export.jsonl";
/// The run info scripts/profile asks loadgen for.
const RUN_INFO: &str = "run_info.json";

/// `Ok` when the run in `dir` is complete, else why it is not.
pub fn run_state(dir: &Path) -> Result<(), String> {
    if !dir.is_dir() {
        return Err("not run yet".into());
    }
    if dir.join(RUN_SKIPPED_FILE).is_file() && !dir.join(RUN_ERROR_FILE).exists() {
        return Ok(());
    }
    if let Ok(text) = crate::io::capped::read_to_string(dir.join(RUN_ERROR_FILE)) {
        let first = text.lines().next().unwrap_or("").trim();
        return Err(format!("failed: {first}"));
    }
    if !dir.join(SUMMARY_JSON).is_file() {
        return Err(format!("no {SUMMARY_JSON}: the run did not finish"));
    }
    let records = dir.join(RECORDS);
    if records.exists() && !ends_with_newline(&records) {
        return Err(format!("{RECORDS} ends in a torn line"));
    }
    match crate::io::capped::read_to_string(dir.join(RUN_INFO)) {
        Ok(text) => {
            let info = serde_json::from_str(&text)
                .map_err(|e| e.to_string())
                .and_then(AnyRunInfo::from_json)
                .map_err(|e| format!("{RUN_INFO} is unreadable: {e}"))?;
            match info.end.map(|e| e.reason) {
                None | Some(EndReason::Completed) => Ok(()),
                Some(r) => Err(format!(
                    "it ended {}",
                    serde_json::to_value(r)
                        .unwrap_or_default()
                        .as_str()
                        .unwrap_or("early")
                )),
            }
        }
        // A summary without run info: an AIPerf run or an older sweepkit run, kept as it is.
        Err(_) => Ok(()),
    }
}

/// Whether a file is empty or ends with `\n` (a crashed writer leaves a torn last line).
fn ends_with_newline(path: &Path) -> bool {
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut last = [0u8; 1];
    match f.seek(SeekFrom::End(-1)) {
        Ok(_) => f.read_exact(&mut last).is_ok() && last[0] == b'\n',
        Err(_) => true,
    }
}

/// The plan's runs that still need running, in plan order, with the reason.
pub fn pending(lines: &[PlanLine]) -> Vec<(&PlanLine, String)> {
    lines
        .iter()
        .filter_map(|l| {
            let dir = l.place.artifact_dir.as_deref()?;
            run_state(Path::new(dir)).err().map(|why| (l, why))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_completed_run_is_done() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("concurrency_2");
        assert_eq!(run_state(&d).unwrap_err(), "not run yet");
        std::fs::create_dir(&d).unwrap();
        assert!(run_state(&d)
            .unwrap_err()
            .starts_with("no profile_export_aiperf.json"));
        std::fs::write(d.join(SUMMARY_JSON), "{}").unwrap();
        std::fs::write(d.join(RECORDS), "{\"a\":1}\n{\"a\":").unwrap();
        assert!(run_state(&d).unwrap_err().contains("torn"));
        std::fs::write(d.join(RECORDS), "{\"a\":1}\n").unwrap();
        assert_eq!(run_state(&d), Ok(()), "no run info: kept as it is");
        std::fs::write(d.join(RUN_INFO), r#"{"end":{"reason":"interrupted"}}"#).unwrap();
        assert_eq!(run_state(&d).unwrap_err(), "it ended interrupted");
        std::fs::write(d.join(RUN_INFO), r#"{"end":{"reason":"completed"}}"#).unwrap();
        assert_eq!(run_state(&d), Ok(()));
        std::fs::write(d.join(RUN_ERROR_FILE), "loadgen: stopped early: x\nmore").unwrap();
        assert_eq!(run_state(&d).unwrap_err(), "failed: loadgen: stopped early: x");
        // Skipped on purpose (converged, past the knee): done, not redone.
        let s = tmp.path().join("concurrency_4");
        std::fs::create_dir(&s).unwrap();
        std::fs::write(s.join(RUN_SKIPPED_FILE), "skipped: converged").unwrap();
        assert_eq!(run_state(&s), Ok(()));
    }
}
