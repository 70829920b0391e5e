//! Inputs made from seeds: byte flips, insertions, deletions, repeats,
//! splices of two seeds, and tokens the parsers treat specially.

/// xorshift64*: small, fast, and repeatable from a seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (which must not be 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What JSON, TOML, event names and ids are made of, and what breaks them.
const TOKENS: &[&str] = &[
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "\\n",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "/",
    "=",
    "\n",
    "\0",
    "1e999",
    "-0",
    "18446744073709551616",
    "9223372036854775808",
    "null",
    "true",
    "\"id\"",
    "\"$op\"",
    "[[",
    "]]",
    "é",
    "\u{10ffff}",
    "\u{feff}",
    "  ",
    "#",
    "'''",
    "\"\"\"",
    "inf",
    "nan",
];

/// A mutant of one of `seeds`.
pub fn mutant(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut input = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(6) {
            0 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] ^= 1 << rng.below(8);
            }
            1 => input.insert(at, rng.next() as u8),
            2 if !input.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(input.len());
                input.drain(at.min(end)..end);
            }
            3 => {
                let end = (at + rng.below(16)).min(input.len());
                let part = input[at..end].to_vec();
                let times = 1 + rng.below(64);
                for _ in 0..times {
                    input.splice(at..at, part.iter().copied());
                }
            }
            4 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                input.splice(at..at, other[from..].iter().copied());
            }
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                input.splice(at..at, token.iter().copied());
            }
        }
    }
    input.truncate(64 * 1024);
    input
}

/// FNV-1a, to name saved inputs.
pub fn hash(input: &[u8]) -> u64 {
    input.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}
