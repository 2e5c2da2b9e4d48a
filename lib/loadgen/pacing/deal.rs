//! How one phase's arrivals are dealt over the worker threads.

/// Worker `worker` of `workers` takes arrival (tick, user, conversation) `i` when
/// `i mod workers == worker`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Deal {
    pub worker: u64,
    pub workers: u64,
}

impl Deal {
    /// One worker takes everything.
    pub const ALL: Deal = Deal {
        worker: 0,
        workers: 1,
    };

    /// Whether arrival `i` is this worker's.
    pub fn takes(&self, i: u64) -> bool {
        i % self.workers == self.worker
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_arrival_goes_to_exactly_one_worker() {
        for n in 1..=5u64 {
            for i in 0..20u64 {
                let takers = (0..n)
                    .filter(|&w| {
                        Deal {
                            worker: w,
                            workers: n,
                        }
                        .takes(i)
                    })
                    .collect::<Vec<_>>();
                assert_eq!(takers, vec![i % n], "n={n} i={i}");
            }
        }
        assert!((0..7).all(|i| Deal::ALL.takes(i)));
    }
}
