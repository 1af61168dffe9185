//! SplitMix64 (Steele, Lea, Flood 2014): the engine's only randomness, seeded by the
//! caller so a run is reproducible. It spreads checker warmups.

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..=max` (keepalived's `warmup * random() / RAND_MAX` includes both
    /// ends), by multiply-shift so no value is favoured by a modulo.
    pub fn up_to(&mut self, max: u64) -> u64 {
        if max == u64::MAX {
            return self.next_u64();
        }
        ((u128::from(self.next_u64()) * (u128::from(max) + 1)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_first_output_for_seed_zero() {
        // The reference implementation's first output for seed 0.
        assert_eq!(SplitMix64::new(0).next_u64(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn up_to_stays_in_bounds() {
        let mut r = SplitMix64::new(7);
        for max in [0u64, 1, 2, 10, 1_000_000, u64::MAX] {
            for _ in 0..1000 {
                assert!(r.up_to(max) <= max);
            }
        }
        assert_eq!(r.up_to(0), 0);
    }
}
