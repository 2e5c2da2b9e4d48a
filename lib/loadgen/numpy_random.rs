//! NumPy's `np.random.default_rng(seed)` (a `SeedSequence` feeding PCG64), bit for bit, for the
//! draws AIPerf makes with NumPy rather than Python's `random`: its `RandomGenerator.shuffle` calls
//! `Generator.shuffle`, so a `--image-source-sampling shuffle-cycle` cycle order is NumPy's.

/// `default_rng(seed)`: PCG64 (128-bit LCG, XSL-RR output) seeded through `SeedSequence`.
pub struct NumpyRandom {
    state: u128,
    inc: u128,
    /// The high half of the last 64-bit output, which `next_uint32` hands out next.
    spare_u32: Option<u32>,
}

/// PCG64's 128-bit LCG multiplier.
const MULT: u128 = (2_549_297_995_355_413_924u128 << 64) | 4_865_540_595_714_422_341u128;

impl NumpyRandom {
    /// `np.random.default_rng(seed)` for a non-negative integer seed.
    pub fn new(seed: u64) -> NumpyRandom {
        let s = seed_sequence_state(seed);
        let initstate = ((s[0] as u128) << 64) | s[1] as u128;
        let initseq = ((s[2] as u128) << 64) | s[3] as u128;
        let mut r = NumpyRandom {
            state: 0,
            inc: (initseq << 1) | 1,
            spare_u32: None,
        };
        r.step();
        r.state = r.state.wrapping_add(initstate);
        r.step();
        r
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(MULT).wrapping_add(self.inc);
    }

    /// PCG64's `next64`: step, then XSL-RR.
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let (hi, lo) = ((self.state >> 64) as u64, self.state as u64);
        (hi ^ lo).rotate_right((self.state >> 122) as u32)
    }

    /// PCG64's `next32`: the low half of a 64-bit output, the high half kept for the next call.
    fn next_u32(&mut self) -> u32 {
        if let Some(v) = self.spare_u32.take() {
            return v;
        }
        let v = self.next_u64();
        self.spare_u32 = Some((v >> 32) as u32);
        v as u32
    }

    /// NumPy's `random_interval(max)`: masked rejection sampling of `[0, max]`.
    fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = u64::MAX >> max.leading_zeros();
        loop {
            let v = if max <= u32::MAX as u64 {
                (self.next_u32() as u64) & mask
            } else {
                self.next_u64() & mask
            };
            if v <= max {
                return v;
            }
        }
    }

    /// `Generator.shuffle(list)`: Fisher-Yates from the end, as NumPy's untyped (list) path does.
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.interval(i as u64) as usize;
            x.swap(i, j);
        }
    }
}

/// `SeedSequence(seed).generate_state(4, np.uint64)`: the seed's 32-bit words mixed into a pool
/// of four, then hashed out as eight 32-bit words read as four little-endian u64s.
fn seed_sequence_state(seed: u64) -> [u64; 4] {
    const INIT_A: u32 = 0x43b0_d7e5;
    const MULT_A: u32 = 0x931e_8875;
    const INIT_B: u32 = 0x8b51_f9dd;
    const MULT_B: u32 = 0x58f3_8ded;
    const MIX_MULT_L: u32 = 0xca01_f9dd;
    const MIX_MULT_R: u32 = 0x4973_f715;
    let entropy: Vec<u32> = if seed >> 32 == 0 {
        vec![seed as u32]
    } else {
        vec![seed as u32, (seed >> 32) as u32]
    };
    let mut hash_const = INIT_A;
    let mut hashmix = |value: u32| {
        let mut v = value ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_A);
        v = v.wrapping_mul(hash_const);
        v ^ (v >> 16)
    };
    let mix = |x: u32, y: u32| {
        let r = MIX_MULT_L
            .wrapping_mul(x)
            .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
        r ^ (r >> 16)
    };
    let mut pool = [0u32; 4];
    for (i, p) in pool.iter_mut().enumerate() {
        *p = hashmix(entropy.get(i).copied().unwrap_or(0));
    }
    for src in 0..4 {
        for dst in 0..4 {
            if src != dst {
                let h = hashmix(pool[src]);
                pool[dst] = mix(pool[dst], h);
            }
        }
    }
    let mut hash_const = INIT_B;
    let words: Vec<u32> = (0..8)
        .map(|i| {
            let mut v = pool[i % 4] ^ hash_const;
            hash_const = hash_const.wrapping_mul(MULT_B);
            v = v.wrapping_mul(hash_const);
            v ^ (v >> 16)
        })
        .collect();
    std::array::from_fn(|k| words[2 * k] as u64 | (words[2 * k + 1] as u64) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::py_random::child_seed;

    /// Values printed by NumPy 2.4.6 (AIPerf 0.13's venv).
    #[test]
    fn seed_sequence_and_pcg64_are_numpys() {
        // SeedSequence(12345678901234567890).generate_state(4, np.uint64)
        assert_eq!(
            seed_sequence_state(12_345_678_901_234_567_890),
            [
                0x3adc_e17e_3465_14ac,
                0x59e9_bcc3_88fa_7613,
                0xf848_c11a_70fd_2314,
                0x2fce_4134_a50b_adc2
            ]
        );
        // default_rng(12345678901234567890).bit_generator.random_raw(3)
        let mut r = NumpyRandom::new(12_345_678_901_234_567_890);
        let raw: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        assert_eq!(
            raw,
            [77935276331132168, 12033622772062331548, 11213416055601313548]
        );
    }

    /// `g = default_rng(seed); l = list(range(10)); g.shuffle(l)`, then `range(5)` on the same
    /// generator (its spare 32-bit half carried over).
    #[test]
    fn shuffle_is_numpys() {
        for (seed, ten, five) in [
            (7u64, [8, 0, 7, 1, 3, 6, 2, 4, 5, 9], [4, 3, 1, 2, 0]),
            (
                12_345_678_901_234_567_890,
                [6, 1, 0, 3, 2, 5, 7, 4, 9, 8],
                [0, 3, 2, 1, 4],
            ),
        ] {
            let mut g = NumpyRandom::new(seed);
            let mut l: Vec<u32> = (0..10).collect();
            g.shuffle(&mut l);
            assert_eq!(l, ten, "seed {seed}");
            let mut l: Vec<u32> = (0..5).collect();
            g.shuffle(&mut l);
            assert_eq!(l, five, "seed {seed}");
        }
        // AIPerf: rng.init(7); rng.derive("dataset.image.source").shuffle(list(range(6)))
        let mut g = NumpyRandom::new(child_seed(7, "dataset.image.source"));
        let mut l: Vec<u32> = (0..6).collect();
        g.shuffle(&mut l);
        assert_eq!(l, [3, 1, 5, 4, 2, 0]);
    }
}
