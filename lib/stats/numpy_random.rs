//! NumPy's default generator as `np.random.default_rng(seed)` builds it: a `SeedSequence` hashes
//! the integer seed into a PCG64 (XSL-RR 128/64) state. Only the draws AIPerf makes through NumPy
//! are here, bit for bit: scipy's Sobol scrambling and Latin hypercube (sweep plans) and
//! `Generator.shuffle` (`--image-source-sampling shuffle-cycle`).

/// `SeedSequence`'s hashing constants (numpy/random/bit_generator.pyx).
const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;
const POOL_SIZE: usize = 4;

/// PCG64's 128-bit LCG multiplier.
const PCG_MULT: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;

/// `SeedSequence(seed).generate_state(4, np.uint64)`.
fn seed_sequence_state(seed: u64) -> [u64; 4] {
    // The seed as little-endian 32-bit words (one word for a seed below 2^32).
    let mut entropy = vec![seed as u32];
    if seed >> 32 != 0 {
        entropy.push((seed >> 32) as u32);
    }
    let mut hash_const = INIT_A;
    let mut hashmix = |v: u32| {
        let mut v = v ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_A);
        v = v.wrapping_mul(hash_const);
        v ^ (v >> XSHIFT)
    };
    let mix = |x: u32, y: u32| {
        let r = MIX_MULT_L
            .wrapping_mul(x)
            .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
        r ^ (r >> XSHIFT)
    };
    let mut pool = [0u32; POOL_SIZE];
    for (i, p) in pool.iter_mut().enumerate() {
        *p = hashmix(entropy.get(i).copied().unwrap_or(0));
    }
    for src in 0..POOL_SIZE {
        for dst in 0..POOL_SIZE {
            if src != dst {
                let h = hashmix(pool[src]);
                pool[dst] = mix(pool[dst], h);
            }
        }
    }
    // (A seed has at most two words, fewer than the pool's four: nothing more to mix in.)
    let mut hash_const = INIT_B;
    let mut words = [0u32; 2 * POOL_SIZE];
    for (i, w) in words.iter_mut().enumerate() {
        let mut v = pool[i % POOL_SIZE] ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_B);
        v = v.wrapping_mul(hash_const);
        *w = v ^ (v >> XSHIFT);
    }
    std::array::from_fn(|i| words[2 * i] as u64 | (words[2 * i + 1] as u64) << 32)
}

/// NumPy's `PCG64` bit generator with its buffered 32-bit draws.
pub struct Pcg64 {
    state: u128,
    inc: u128,
    /// The upper half of the last 64-bit output, not yet used by a 32-bit draw.
    spare: Option<u32>,
}

impl Pcg64 {
    /// The generator `np.random.default_rng(seed)` holds.
    pub fn new(seed: u64) -> Pcg64 {
        let w = seed_sequence_state(seed);
        let init_state = (w[0] as u128) << 64 | w[1] as u128;
        let init_seq = (w[2] as u128) << 64 | w[3] as u128;
        let mut g = Pcg64 {
            state: 0,
            inc: init_seq << 1 | 1,
            spare: None,
        };
        g.step();
        g.state = g.state.wrapping_add(init_state);
        g.step();
        g
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }

    /// One 64-bit output (XSL-RR of the advanced state).
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let x = ((self.state >> 64) as u64) ^ (self.state as u64);
        x.rotate_right((self.state >> 122) as u32)
    }

    /// One 32-bit output: the low half of a fresh 64-bit one, then its high half.
    fn next_u32(&mut self) -> u32 {
        if let Some(s) = self.spare.take() {
            return s;
        }
        let n = self.next_u64();
        self.spare = Some((n >> 32) as u32);
        n as u32
    }

    /// `integers(0, 2, dtype=np.uint32)`: Lemire's bounded draw with two outcomes is the top bit.
    pub fn bit(&mut self) -> u32 {
        self.next_u32() >> 31
    }

    /// `random()` / `uniform()`: 53 bits of a 64-bit output, in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `integers(0, max, endpoint=True)` for `max` < 2^32 - 1: NumPy's buffered Lemire draw.
    pub fn below_or_equal(&mut self, max: u32) -> u32 {
        let excl = max + 1;
        let mut m = self.next_u32() as u64 * excl as u64;
        if (m as u32) < excl {
            let threshold = (u32::MAX - max) % excl;
            while (m as u32) < threshold {
                m = self.next_u32() as u64 * excl as u64;
            }
        }
        (m >> 32) as u32
    }

    /// The index `shuffle` swaps with at position `max` (NumPy's `random_interval`: masked
    /// rejection, 32-bit draws below 2^32).
    pub fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mask = u32::MAX >> max.leading_zeros();
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// `shuffle(x)` of a 1-D array (Fisher–Yates from the end).
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.interval(i as u32) as usize;
            x.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_default_rng() {
        // np.random.default_rng(12345).bit_generator.random_raw(3) and
        // np.random.default_rng(7).integers(0, 2, size=16, dtype=np.uint32), numpy 2.4.6.
        let mut g = Pcg64::new(12345);
        let raw: Vec<u64> = (0..3).map(|_| g.next_u64()).collect();
        assert_eq!(raw, RAW_12345);
        let mut g = Pcg64::new(7);
        let bits: Vec<u32> = (0..16).map(|_| g.bit()).collect();
        assert_eq!(bits, [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1]);
        // A seed of two 32-bit words: default_rng(2**40 + 3).bit_generator.random_raw(2).
        let mut g = Pcg64::new((1 << 40) + 3);
        assert_eq!(
            [g.next_u64(), g.next_u64()],
            [14271435802380633900, 18370326226487632705]
        );
    }

    #[test]
    fn doubles_integers_and_shuffles_match_numpy() {
        // g = np.random.default_rng(5); g.random(2); g.integers(0, 6, endpoint=True, size=None) x3;
        // a = np.arange(7); g.shuffle(a) — numpy 2.4.6 (values in the constants below).
        let mut g = Pcg64::new(5);
        assert_eq!([g.next_f64(), g.next_f64()], DOUBLES_5);
        let ints: Vec<u32> = (0..3).map(|_| g.below_or_equal(6)).collect();
        assert_eq!(ints, INTS_5);
        let mut a: Vec<u32> = (0..7).collect();
        g.shuffle(&mut a);
        assert_eq!(a, SHUFFLED_5);
    }

    const RAW_12345: [u64; 3] = [4193609425186963869, 5843160025838961886, 14708796524633321433];
    const DOUBLES_5: [f64; 2] = [0.8050029237453802, 0.8079407897364937];
    const INTS_5: [u32; 3] = [3, 3, 4];
    const SHUFFLED_5: [u32; 7] = [6, 0, 1, 3, 2, 5, 4];

    /// Values printed by NumPy 2.4.6 (AIPerf 0.13's venv): a seed of two words, then
    /// `g = default_rng(seed); l = list(range(10)); g.shuffle(l)`, and `range(5)` on the same
    /// generator (its spare 32-bit half carried over).
    #[test]
    fn seed_sequence_and_list_shuffles_are_numpys() {
        assert_eq!(
            seed_sequence_state(12_345_678_901_234_567_890),
            [
                0x3adc_e17e_3465_14ac,
                0x59e9_bcc3_88fa_7613,
                0xf848_c11a_70fd_2314,
                0x2fce_4134_a50b_adc2
            ]
        );
        let mut r = Pcg64::new(12_345_678_901_234_567_890);
        let raw: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        assert_eq!(
            raw,
            [77935276331132168, 12033622772062331548, 11213416055601313548]
        );
        for (seed, ten, five) in [
            (7u64, [8, 0, 7, 1, 3, 6, 2, 4, 5, 9], [4, 3, 1, 2, 0]),
            (
                12_345_678_901_234_567_890,
                [6, 1, 0, 3, 2, 5, 7, 4, 9, 8],
                [0, 3, 2, 1, 4],
            ),
        ] {
            let mut g = Pcg64::new(seed);
            let mut l: Vec<u32> = (0..10).collect();
            g.shuffle(&mut l);
            assert_eq!(l, ten, "seed {seed}");
            let mut l: Vec<u32> = (0..5).collect();
            g.shuffle(&mut l);
            assert_eq!(l, five, "seed {seed}");
        }
    }
}
