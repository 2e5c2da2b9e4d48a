//! SplitMix64, the one seed mixer of a run: per-prompt seeds, request ids and shards' seeds and
//! nonces all come from it (a leaf module, so any part of loadgen can use it).

/// The increment: `mix(seed, k)` is a bijection of `seed + (k+1)·STEP` (STEP is odd), which is
/// what makes the shards' request ids distinct by construction.
pub const STEP: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64: decorrelates per-prompt seeds.
pub fn mix(seed: u64, k: u64) -> u64 {
    let mut z = seed.wrapping_add(k.wrapping_add(1).wrapping_mul(STEP));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
