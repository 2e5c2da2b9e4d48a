//! The simulated GPU's energy counter (DCGM's `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`, mJ): the exact
//! integral of the simulated power over time, so that energy per token has a known answer.
//! Power only changes when the decode batch does, so integrating at each change is exact.

use std::sync::Mutex;

/// Idle power of the simulated GPU, W.
pub const IDLE_W: f64 = 70.0;
/// Power added at full utilisation, W (a full batch draws IDLE_W + BUSY_W).
pub const BUSY_W: f64 = 580.0;

/// Simulated power draw in W at a utilisation of 0..1.
pub fn power_w(utilization: f64) -> f64 {
    IDLE_W + utilization * BUSY_W
}

/// Energy used since the server started, integrated piecewise between changes of the power.
pub struct EnergyMeter {
    /// (time of the last change in ns on the engine's clock, energy up to it in mJ)
    state: Mutex<(u64, f64)>,
}

impl EnergyMeter {
    pub fn new(now_ns: u64) -> EnergyMeter {
        EnergyMeter {
            state: Mutex::new((now_ns, 0.0)),
        }
    }

    /// Energy in mJ up to `now_ns` while the power has been `power_w` since the last call; called
    /// with the power before each change (and when read), it keeps the integral exact.
    pub fn advance(&self, now_ns: u64, power_w: f64) -> f64 {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let dt_s = now_ns.saturating_sub(s.0) as f64 / 1e9;
        s.1 += power_w * dt_s * 1e3;
        s.0 = s.0.max(now_ns);
        s.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrates_piecewise_constant_power_exactly() {
        let m = EnergyMeter::new(1_000_000_000);
        // 2 s idle (70 W) then 0.5 s at half load (360 W): 140 J + 180 J = 320 000 mJ.
        assert_eq!(m.advance(3_000_000_000, power_w(0.0)), 140_000.0);
        let e = m.advance(3_500_000_000, power_w(0.5));
        assert!((e - 320_000.0).abs() < 1e-6, "{e}");
        // A clock read out of order never subtracts energy.
        assert_eq!(m.advance(3_400_000_000, power_w(1.0)), e);
    }
}
