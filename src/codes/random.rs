//! Uniform draws from a byte source, by rejection (no modulo bias). The source in production is
//! the operating system's CSPRNG (`getrandom`); tests may pass a scripted one.

/// A source of random bytes.
pub trait RandomSource {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RandomError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct RandomError(pub String);

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(buf).map_err(|e| RandomError(e.to_string()))
    }
}

/// Buffered uniform draws from a source.
pub struct Draw<R: RandomSource> {
    source: R,
    buf: [u8; 128],
    pos: usize,
}

impl<R: RandomSource> Draw<R> {
    pub fn new(source: R) -> Self {
        Draw {
            source,
            buf: [0; 128],
            pos: 128,
        }
    }

    fn byte(&mut self) -> Result<u8, RandomError> {
        if self.pos == self.buf.len() {
            self.source.fill(&mut self.buf)?;
            self.pos = 0;
        }
        self.pos += 1;
        Ok(self.buf[self.pos - 1])
    }

    /// Uniform in `0..n`, for `1 <= n <= 256`: bytes at or above the largest multiple of `n`
    /// are rejected, so every value is equally likely.
    pub fn below(&mut self, n: u16) -> Result<u16, RandomError> {
        assert!((1..=256).contains(&n), "below({n})");
        let limit = 256 - 256 % n;
        loop {
            let b = u16::from(self.byte()?);
            if b < limit {
                return Ok(b % n);
            }
        }
    }

    /// A uniform 64-bit value (for jitter, not for secrets' shape).
    pub fn u64(&mut self) -> Result<u64, RandomError> {
        let mut bytes = [0u8; 8];
        for b in &mut bytes {
            *b = self.byte()?;
        }
        Ok(u64::from_le_bytes(bytes))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Replays a fixed byte sequence, cycling.
    pub struct Scripted(pub Vec<u8>, pub usize);

    impl RandomSource for Scripted {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), RandomError> {
            for b in buf {
                *b = self.0[self.1 % self.0.len()];
                self.1 += 1;
            }
            Ok(())
        }
    }

    #[test]
    fn rejection_keeps_every_value_equally_likely() {
        // Every byte value once: a biased `b % 10` would give 0..5 one extra hit each.
        let mut d = Draw::new(Scripted((0..=255).collect(), 0));
        let mut counts = [0u32; 10];
        for _ in 0..250 {
            counts[d.below(10).unwrap() as usize] += 1;
        }
        assert_eq!(counts, [25; 10]);
        // The six bytes 250..=255 were skipped: the next draw starts over at 0.
        assert_eq!(d.below(10).unwrap(), 0);
    }
}
