//! A task or worker that panics fails the run: `end.reason: failed` with the panic's message in
//! the run info, exit 2. Tokio catches a task's panic and hands it to whoever joins the task;
//! dropping that result would let a run with records missing end as "completed".

use std::any::Any;

use anyhow::anyhow;
use tokio::task::{JoinError, JoinSet};

use super::control::Control;

/// Waits for every task of `set`, failing the run on the first panic.
pub async fn join_all(set: &mut JoinSet<()>, ctl: &Control) {
    while let Some(r) = set.join_next().await {
        check(r, ctl);
    }
}

/// Reaps the tasks of `set` that have already ended, failing the run on a panic.
pub fn reap(set: &mut JoinSet<()>, ctl: &Control) {
    while let Some(r) = set.try_join_next() {
        check(r, ctl);
    }
}

/// Fails the run when `r` is a panic (a cancelled task is not a failure).
pub fn check(r: Result<(), JoinError>, ctl: &Control) {
    if let Err(e) = r {
        if e.is_panic() {
            ctl.fail(anyhow!(
                "a loadgen worker panicked (a bug: please report it): {}",
                message(e.into_panic())
            ));
        }
    }
}

/// The text a panic was raised with.
pub fn message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p
            .downcast_ref::<&str>()
            .map_or_else(|| "(no message)".to_string(), |s| s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_task_fails_the_run_with_its_message() {
        let ctl = Control::default();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let mut set = JoinSet::new();
            set.spawn(async {});
            set.spawn(async { panic!("cannot convert float seconds to Duration") });
            join_all(&mut set, &ctl).await;
        });
        let fatal = ctl.take_fatal().expect("the run failed");
        assert!(
            fatal
                .to_string()
                .contains("cannot convert float seconds to Duration"),
            "{fatal}"
        );
        assert!(ctl.cancelled(), "in-flight requests are abandoned");
    }
}
