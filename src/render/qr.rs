//! QR codes as vector geometry: our own encoder (byte mode, error correction levels L, M, Q and
//! H, versions 1 to 40, the standard's mask choice by penalty score), and the module matrix merged into
//! horizontal runs so a symbol is a few dozen rectangles rather than hundreds.
//!
//! Why our own: the encoders tried spent two thirds of the renderer's time copying and scoring
//! full-size matrices; this one works on the symbol's own size. It follows the ISO/IEC 18004
//! construction as written out in Project Nayuki's reference implementation; the tests decode
//! every version with an independent decoder.

/// Light modules around the symbol, as the standard asks.
pub const QUIET_ZONE: usize = 4;

/// How much of a symbol may be damaged (scratched, smudged) and still read: about 7 %, 15 %,
/// 25 % and 30 % of its codewords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub enum Level {
    L,
    M,
    Q,
    H,
}

impl Level {
    fn index(self) -> usize {
        match self {
            Level::L => 0,
            Level::M => 1,
            Level::Q => 2,
            Level::H => 3,
        }
    }

    /// The two bits the format information carries for the level.
    fn format(self) -> u32 {
        match self {
            Level::L => 1,
            Level::M => 0,
            Level::Q => 3,
            Level::H => 2,
        }
    }
}

/// Error-correction codewords per block, by level (L, M, Q, H) and version (index 0 unused).
const ECC_PER_BLOCK: [[u8; 41]; 4] = [
    [
        0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28,
        30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    ],
    [
        0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28,
        28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    ],
    [
        0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30,
        30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    ],
    [
        0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24,
        30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    ],
];
/// Error-correction blocks, by level (L, M, Q, H) and version (index 0 unused).
const BLOCKS: [[u8; 41]; 4] = [
    [
        0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13,
        14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25,
    ],
    [
        0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21,
        23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49,
    ],
    [
        0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29,
        34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68,
    ],
    [
        0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32,
        35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81,
    ],
];

/// A QR symbol's dark modules, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    pub width: usize,
    pub dark: Vec<bool>,
}

fn raw_data_modules(ver: usize) -> usize {
    let v = ver as i64;
    let mut result = (16 * v + 128) * v + 64;
    if v >= 2 {
        let align = v / 7 + 2;
        result -= (25 * align - 10) * align - 55;
        if v >= 7 {
            result -= 36;
        }
    }
    result as usize
}

fn data_codewords(ver: usize, level: Level) -> usize {
    let l = level.index();
    raw_data_modules(ver) / 8 - usize::from(ECC_PER_BLOCK[l][ver]) * usize::from(BLOCKS[l][ver])
}

/// Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1.
fn gf_mul(x: u8, y: u8) -> u8 {
    let mut z: u8 = 0;
    for i in (0..8).rev() {
        z = (z << 1) ^ ((z >> 7) * 0x1D);
        z ^= ((y >> i) & 1) * x;
    }
    z
}

fn rs_divisor(degree: usize) -> Vec<u8> {
    let mut result = vec![0u8; degree - 1];
    result.push(1);
    let mut root: u8 = 1;
    for _ in 0..degree {
        for j in 0..degree {
            result[j] = gf_mul(result[j], root);
            if j + 1 < result.len() {
                result[j] ^= result[j + 1];
            }
        }
        root = gf_mul(root, 0x02);
    }
    result
}

/// The divisor of `degree` as product tables: row j holds divisor[j] times every byte. Made
/// once per thread and degree; the remainder is then table lookups, not GF multiplications.
type Products = std::rc::Rc<Vec<[u8; 256]>>;

fn rs_products(degree: usize) -> Products {
    thread_local! {
        static CACHE: std::cell::RefCell<Vec<Option<Products>>> =
            std::cell::RefCell::new(vec![None; 69]);
    }
    CACHE.with(|cache| {
        if let Some(t) = &cache.borrow()[degree] {
            return std::rc::Rc::clone(t);
        }
        let table: Vec<[u8; 256]> = rs_divisor(degree)
            .iter()
            .map(|&y| std::array::from_fn(|f| gf_mul(y, f as u8)))
            .collect();
        let table = std::rc::Rc::new(table);
        cache.borrow_mut()[degree] = Some(std::rc::Rc::clone(&table));
        table
    })
}

fn rs_remainder(data: &[u8], products: &[[u8; 256]]) -> Vec<u8> {
    let mut result = vec![0u8; products.len()];
    for &b in data {
        let factor = usize::from(b ^ result[0]);
        result.rotate_left(1);
        let last = result.len() - 1;
        result[last] = 0;
        for (x, row) in result.iter_mut().zip(products) {
            *x ^= row[factor];
        }
    }
    result
}

/// A run of the payload in one mode: digits in numeric mode (10 bits for 3 digits), anything
/// else in byte mode (8 bits a byte).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Segment<'a> {
    Numeric(&'a [u8]),
    Byte(&'a [u8]),
}

impl Segment<'_> {
    /// Bits of the character count field in version `ver`.
    fn count_bits(&self, ver: usize) -> usize {
        let band = usize::from(ver > 9) + usize::from(ver > 26);
        match self {
            Segment::Numeric(_) => [10, 12, 14][band],
            Segment::Byte(_) => [8, 16, 16][band],
        }
    }

    fn bits(&self, ver: usize) -> usize {
        4 + self.count_bits(ver)
            + match self {
                Segment::Numeric(d) => d.len() / 3 * 10 + [0, 4, 7][d.len() % 3],
                Segment::Byte(b) => b.len() * 8,
            }
    }
}

/// Splits the payload into segments for version `ver`: each run of digits goes in numeric mode
/// where that takes fewer bits than leaving it in the bytes around it (a phone number and an
/// access code in a `tel:` URI do; a short run does not pay for its own header).
fn segments(payload: &[u8], ver: usize) -> Vec<Segment<'_>> {
    let mut runs: Vec<(bool, &[u8])> = Vec::new();
    let mut start = 0;
    for i in 1..=payload.len() {
        if i == payload.len() || payload[i].is_ascii_digit() != payload[start].is_ascii_digit() {
            runs.push((payload[start].is_ascii_digit(), &payload[start..i]));
            start = i;
        }
    }
    let mut out: Vec<Segment<'_>> = Vec::new();
    let mut pending: Option<(usize, usize)> = None; // a byte segment being gathered: range
    let mut at = 0;
    for (i, &(digits, run)) in runs.iter().enumerate() {
        let range = (at, at + run.len());
        at += run.len();
        let numeric = digits && {
            let alone = Segment::Numeric(run).bits(ver);
            // A byte segment on both sides is split in two: one more byte header.
            let splits = pending.is_some() && i + 1 < runs.len();
            let extra = if splits {
                4 + Segment::Byte(run).count_bits(ver)
            } else {
                0
            };
            let header = if pending.is_none() {
                4 + Segment::Byte(run).count_bits(ver)
            } else {
                0
            };
            alone + extra < run.len() * 8 + header
        };
        if numeric {
            if let Some((a, b)) = pending.take() {
                out.push(Segment::Byte(&payload[a..b]));
            }
            out.push(Segment::Numeric(run));
        } else {
            pending = Some(pending.map_or(range, |(a, _)| (a, range.1)));
        }
    }
    if let Some((a, b)) = pending {
        out.push(Segment::Byte(&payload[a..b]));
    }
    out
}

/// The data codewords: each segment's mode, count and data, terminator and padding.
fn codewords(segments: &[Segment<'_>], ver: usize, level: Level) -> Vec<u8> {
    let capacity = data_codewords(ver, level) * 8;
    let mut bits: Vec<bool> = Vec::with_capacity(capacity);
    fn push(bits: &mut Vec<bool>, value: u32, len: usize) {
        for i in (0..len).rev() {
            bits.push((value >> i) & 1 == 1);
        }
    }
    for seg in segments {
        let count_bits = seg.count_bits(ver);
        match seg {
            Segment::Numeric(digits) => {
                push(&mut bits, 0b0001, 4);
                push(&mut bits, digits.len() as u32, count_bits);
                for group in digits.chunks(3) {
                    let value = group
                        .iter()
                        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
                    push(&mut bits, value, [0, 4, 7, 10][group.len()]);
                }
            }
            Segment::Byte(bytes) => {
                push(&mut bits, 0b0100, 4);
                push(&mut bits, bytes.len() as u32, count_bits);
                for &b in *bytes {
                    push(&mut bits, u32::from(b), 8);
                }
            }
        }
    }
    let terminator = (capacity - bits.len()).min(4);
    push(&mut bits, 0, terminator);
    let pad = (8 - bits.len() % 8) % 8;
    push(&mut bits, 0, pad);
    let mut bytes: Vec<u8> = bits
        .chunks(8)
        .map(|c| c.iter().fold(0u8, |acc, &b| acc << 1 | u8::from(b)))
        .collect();
    for pad in [0xEC, 0x11].into_iter().cycle() {
        if bytes.len() >= capacity / 8 {
            break;
        }
        bytes.push(pad);
    }
    bytes
}

/// Splits into blocks, adds Reed-Solomon codewords and interleaves.
fn with_ecc(data: &[u8], ver: usize, level: Level) -> Vec<u8> {
    let blocks = usize::from(BLOCKS[level.index()][ver]);
    let ecc_len = usize::from(ECC_PER_BLOCK[level.index()][ver]);
    let raw = raw_data_modules(ver) / 8;
    let short_blocks = blocks - raw % blocks;
    let short_len = raw / blocks;
    let divisor = rs_products(ecc_len);
    let mut all = Vec::with_capacity(blocks);
    let mut k = 0;
    for i in 0..blocks {
        let len = short_len - ecc_len + usize::from(i >= short_blocks);
        let mut block = data[k..k + len].to_vec();
        k += len;
        let ecc = rs_remainder(&block, &divisor);
        if i < short_blocks {
            block.push(0);
        }
        block.extend_from_slice(&ecc);
        all.push(block);
    }
    let mut result = Vec::with_capacity(raw);
    for i in 0..all[0].len() {
        for (j, block) in all.iter().enumerate() {
            if i != short_len - ecc_len || j >= short_blocks {
                result.push(block[i]);
            }
        }
    }
    result
}

struct Symbol {
    size: usize,
    level: Level,
    dark: Vec<bool>,
    function: Vec<bool>,
}

impl Symbol {
    fn set_function(&mut self, x: usize, y: usize, dark: bool) {
        self.dark[y * self.size + x] = dark;
        self.function[y * self.size + x] = true;
    }

    fn finder(&mut self, cx: i32, cy: i32) {
        for dy in -4..=4i32 {
            for dx in -4..=4i32 {
                let (x, y) = (cx + dx, cy + dy);
                if (0..self.size as i32).contains(&x) && (0..self.size as i32).contains(&y) {
                    let dist = dx.abs().max(dy.abs());
                    self.set_function(x as usize, y as usize, dist != 2 && dist != 4);
                }
            }
        }
    }

    fn alignment(&mut self, cx: usize, cy: usize) {
        for dy in -2..=2i32 {
            for dx in -2..=2i32 {
                let (x, y) = ((cx as i32 + dx) as usize, (cy as i32 + dy) as usize);
                self.set_function(x, y, dx.abs().max(dy.abs()) != 1);
            }
        }
    }

    fn format_bits(&mut self, mask: u32) {
        let data = self.level.format() << 3 | mask;
        let mut rem = data;
        for _ in 0..10 {
            rem = (rem << 1) ^ ((rem >> 9) * 0x537);
        }
        let bits = (data << 10 | rem) ^ 0x5412;
        let bit = |i: usize| (bits >> i) & 1 == 1;
        for i in 0..6 {
            self.set_function(8, i, bit(i));
        }
        self.set_function(8, 7, bit(6));
        self.set_function(8, 8, bit(7));
        self.set_function(7, 8, bit(8));
        for i in 9..15 {
            self.set_function(14 - i, 8, bit(i));
        }
        let size = self.size;
        for i in 0..8 {
            self.set_function(size - 1 - i, 8, bit(i));
        }
        for i in 8..15 {
            self.set_function(8, size - 15 + i, bit(i));
        }
        self.set_function(8, size - 8, true);
    }

    fn version_bits(&mut self, ver: usize) {
        if ver < 7 {
            return;
        }
        let data = ver as u32;
        let mut rem = data;
        for _ in 0..12 {
            rem = (rem << 1) ^ ((rem >> 11) * 0x1F25);
        }
        let bits = data << 12 | rem;
        for i in 0..18 {
            let dark = (bits >> i) & 1 == 1;
            let (a, b) = (self.size - 11 + i % 3, i / 3);
            self.set_function(a, b, dark);
            self.set_function(b, a, dark);
        }
    }

    fn new(ver: usize, level: Level) -> Symbol {
        let size = ver * 4 + 17;
        let mut s = Symbol {
            size,
            level,
            dark: vec![false; size * size],
            function: vec![false; size * size],
        };
        for i in 0..size {
            s.set_function(6, i, i % 2 == 0);
            s.set_function(i, 6, i % 2 == 0);
        }
        let far = size as i32 - 4;
        s.finder(3, 3);
        s.finder(far, 3);
        s.finder(3, far);
        let positions = alignment_positions(ver, size);
        let last = positions.len().saturating_sub(1);
        for (i, &x) in positions.iter().enumerate() {
            for (j, &y) in positions.iter().enumerate() {
                let on_finder = (i == 0 && (j == 0 || j == last)) || (i == last && j == 0);
                if !on_finder {
                    s.alignment(x, y);
                }
            }
        }
        s.format_bits(0);
        s.version_bits(ver);
        s
    }

    fn place(&mut self, data: &[u8]) {
        let size = self.size;
        let mut i = 0;
        let mut right = size as i32 - 1;
        while right >= 1 {
            if right == 6 {
                right = 5;
            }
            for vert in 0..size {
                for j in 0..2 {
                    let x = (right - j) as usize;
                    let upward = (right + 1) & 2 == 0;
                    let y = if upward { size - 1 - vert } else { vert };
                    if !self.function[y * size + x] && i < data.len() * 8 {
                        self.dark[y * size + x] = (data[i >> 3] >> (7 - (i & 7))) & 1 == 1;
                        i += 1;
                    }
                }
            }
            right -= 2;
        }
    }

    /// The data modules (not function patterns) with their coordinates' residues, once per
    /// symbol: masking then needs no division and no test of the function flag.
    fn data_modules(&self) -> Vec<DataModule> {
        let size = self.size;
        (0..size * size)
            .filter(|&i| !self.function[i])
            .map(|i| {
                let (x, y) = (i % size, i / size);
                DataModule {
                    index: i as u32,
                    x2: (x % 2) as u8,
                    y2: (y % 2) as u8,
                    x3: (x % 3) as u8,
                    y3: (y % 3) as u8,
                    x3h: ((x / 3) % 2) as u8,
                    y2h: ((y / 2) % 2) as u8,
                }
            })
            .collect()
    }

    fn apply_mask(&mut self, modules: &[DataModule], mask: u32) {
        for m in modules {
            let xy2 = m.x2 * m.y2;
            let xy3 = (m.x3 * m.y3) % 3;
            let invert = match mask {
                0 => (m.x2 + m.y2) % 2 == 0,
                1 => m.y2 == 0,
                2 => m.x3 == 0,
                3 => (m.x3 + m.y3) % 3 == 0,
                4 => (m.x3h + m.y2h) % 2 == 0,
                5 => xy2 + xy3 == 0,
                6 => (xy2 + xy3) % 2 == 0,
                _ => ((m.x2 + m.y2) % 2 + xy3) % 2 == 0,
            };
            self.dark[m.index as usize] ^= invert;
        }
    }

    /// The standard's penalty: runs of 5+, 2x2 blocks, finder-like patterns, imbalance.
    /// Written without data-dependent branches in the per-module loops (they mispredict on
    /// random data and cost more than the arithmetic).
    fn penalty(&self, runs: &mut Vec<i32>) -> u32 {
        let size = self.size;
        let d = &self.dark;
        let mut result = 0u32;
        for pass in 0..2 {
            for a in 0..size {
                let at = |b: usize| {
                    if pass == 0 {
                        d[a * size + b]
                    } else {
                        d[b * size + a]
                    }
                };
                runs.clear();
                // The line's runs, alternating light and dark, starting and ending light; the
                // light border around the symbol counts as `size` light modules on each side.
                let mut prev = false;
                let mut run = size as i32;
                let mut plain = 0i32; // the run without the border, for rule 1
                for b in 0..size {
                    let dark = at(b);
                    let same = i32::from(dark == prev);
                    if same == 0 {
                        runs.push(run);
                    }
                    run = run * same + 1;
                    plain = plain * same + 1;
                    result += u32::from(plain == 5) * 3 + u32::from(plain > 5);
                    prev = dark;
                }
                if prev {
                    runs.push(run);
                    runs.push(size as i32);
                } else {
                    runs.push(run + size as i32);
                }
                // A finder-like pattern: dark 1:1:3:1:1 with 4 light modules on one side.
                let r = &runs[..];
                let mut i = 1;
                while i + 5 < r.len() {
                    let n = r[i];
                    let core = n > 0
                        && r[i + 1] == n
                        && r[i + 2] == n * 3
                        && r[i + 3] == n
                        && r[i + 4] == n;
                    if core {
                        let (before, after) = (r[i - 1], r[i + 5]);
                        result += 40
                            * (u32::from(before >= n * 4 && after >= n)
                                + u32::from(after >= n * 4 && before >= n));
                    }
                    i += 2;
                }
            }
        }
        for y in 0..size - 1 {
            let (r0, r1) = (
                &d[y * size..(y + 1) * size],
                &d[(y + 1) * size..(y + 2) * size],
            );
            for x in 0..size - 1 {
                let c = r0[x];
                result += 3 * u32::from((c == r0[x + 1]) & (c == r1[x]) & (c == r1[x + 1]));
            }
        }
        let dark = d.iter().map(|&b| u32::from(b)).sum::<u32>() as i64;
        let total = (size * size) as i64;
        let k = ((dark * 20 - total * 10).abs() + total - 1) / total - 1;
        result + k as u32 * 10
    }
}

/// Packs the symbol's modules into one `u64` per row and per column (bit x of row y is the
/// module at (x, y)). Only for symbols up to 64 modules wide.
fn pack(dark: &[bool], size: usize, rows: &mut [u64], cols: &mut [u64]) {
    rows.fill(0);
    cols.fill(0);
    for (y, line) in dark.chunks(size).enumerate() {
        for (x, &d) in line.iter().enumerate() {
            let bit = u64::from(d);
            rows[y] |= bit << x;
            cols[x] |= bit << y;
        }
    }
}

/// For one mask, what turns the unmasked symbol (drawn with mask 0's format bits) into the
/// masked one: the data modules the mask inverts, and the format bits changing from mask 0's
/// to this mask's. Packed like [`pack`].
struct MaskTable {
    rows: Vec<u64>,
    cols: Vec<u64>,
}

/// The eight mask tables of a version (up to 64 modules wide), computed once per thread.
fn mask_tables(ver: usize, level: Level) -> std::rc::Rc<Vec<MaskTable>> {
    thread_local! {
        static CACHE: std::cell::RefCell<Vec<Option<std::rc::Rc<Vec<MaskTable>>>>> =
            std::cell::RefCell::new(vec![None; 41 * 4]);
    }
    let key = level.index() * 41 + ver;
    CACHE.with(|cache| {
        if let Some(t) = &cache.borrow()[key] {
            return std::rc::Rc::clone(t);
        }
        let blank = Symbol::new(ver, level);
        let size = blank.size;
        let modules = blank.data_modules();
        let format_of = |mask: u32| {
            let mut s = Symbol {
                size,
                level,
                dark: vec![false; size * size],
                function: blank.function.clone(),
            };
            s.format_bits(mask);
            let (mut r, mut c) = (vec![0u64; size], vec![0u64; size]);
            pack(&s.dark, size, &mut r, &mut c);
            (r, c)
        };
        let (f0_rows, f0_cols) = format_of(0);
        let tables: Vec<MaskTable> = (0..8)
            .map(|mask| {
                let mut s = Symbol {
                    size,
                    level,
                    dark: vec![false; size * size],
                    function: blank.function.clone(),
                };
                s.apply_mask(&modules, mask);
                let (mut rows, mut cols) = (vec![0u64; size], vec![0u64; size]);
                pack(&s.dark, size, &mut rows, &mut cols);
                let (fr, fc) = format_of(mask);
                for i in 0..size {
                    rows[i] ^= f0_rows[i] ^ fr[i];
                    cols[i] ^= f0_cols[i] ^ fc[i];
                }
                MaskTable { rows, cols }
            })
            .collect();
        let tables = std::rc::Rc::new(tables);
        cache.borrow_mut()[key] = Some(std::rc::Rc::clone(&tables));
        tables
    })
}

/// The penalty on bit-packed lines, for symbols up to 64 modules wide (versions 1 to 11, what
/// cards carry): runs come from the bits where the colour changes, 2x2 blocks from XORs and
/// popcounts. Same rules and weights as [`Symbol::penalty`].
fn penalty_packed(rows: &[u64], cols: &[u64], size: usize, runs: &mut Vec<i32>) -> u32 {
    let full = if size == 64 {
        u64::MAX
    } else {
        (1u64 << size) - 1
    };
    let s = size as i32;
    let mut result = 0u32;
    for &line in rows.iter().chain(cols) {
        // Bit i of `change`: module i differs from module i + 1.
        let mut change = (line ^ (line >> 1)) & (full >> 1);
        runs.clear();
        let first_dark = line & 1 == 1;
        if first_dark {
            runs.push(s); // the light border before the line
        }
        let mut start = 0i32;
        while change != 0 {
            let i = change.trailing_zeros() as i32;
            runs.push(i + 1 - start);
            start = i + 1;
            change &= change - 1;
        }
        runs.push(s - start);
        let last_dark = (line >> (size - 1)) & 1 == 1;
        // Rule 1: runs of five or more of one colour, before borders are added.
        let first = usize::from(first_dark);
        for &len in &runs[first..] {
            if len >= 5 {
                result += 3 + (len - 5) as u32;
            }
        }
        if first_dark {
            // already has its leading light border
        } else {
            runs[0] += s;
        }
        if last_dark {
            runs.push(s);
        } else {
            let last = runs.len() - 1;
            runs[last] += s;
        }
        // Rule 3: dark 1:1:3:1:1 with four light modules on one side.
        let r = &runs[..];
        let mut i = 1;
        while i + 5 < r.len() {
            let n = r[i];
            if n > 0 && r[i + 1] == n && r[i + 2] == n * 3 && r[i + 3] == n && r[i + 4] == n {
                let (before, after) = (r[i - 1], r[i + 5]);
                result += 40
                    * (u32::from(before >= n * 4 && after >= n)
                        + u32::from(after >= n * 4 && before >= n));
            }
            i += 2;
        }
    }
    // Rule 2: 2x2 blocks of one colour.
    for y in 0..size - 1 {
        let (a, b) = (rows[y], rows[y + 1]);
        let vertical = !(a ^ b);
        let horizontal = !(a ^ (a >> 1));
        let same = vertical & (vertical >> 1) & horizontal & (full >> 1);
        result += 3 * same.count_ones();
    }
    // Rule 4: balance of dark and light.
    let dark = rows.iter().map(|r| r.count_ones()).sum::<u32>() as i64;
    let total = (size * size) as i64;
    let k = ((dark * 20 - total * 10).abs() + total - 1) / total - 1;
    result + k as u32 * 10
}

/// One data module and the residues of its coordinates that the eight masks use.
struct DataModule {
    index: u32,
    x2: u8,
    y2: u8,
    x3: u8,
    y3: u8,
    x3h: u8,
    y2h: u8,
}

fn alignment_positions(ver: usize, size: usize) -> Vec<usize> {
    if ver == 1 {
        return Vec::new();
    }
    let count = ver / 7 + 2;
    let step = (ver * 8 + count * 3 + 5) / (count * 4 - 4) * 2;
    let mut result: Vec<usize> = (0..count - 1).map(|i| size - 7 - i * step).collect();
    result.push(6);
    result.reverse();
    result
}

impl Matrix {
    /// Encodes `payload` at `level` (runs of digits in numeric mode where that is shorter, the
    /// rest in byte mode), in the smallest version that holds it, with the mask of lowest
    /// penalty.
    pub fn encode(payload: &str, level: Level) -> Result<Matrix, String> {
        let bytes = payload.as_bytes();
        let (ver, segs) = (1..=40)
            .find_map(|v| {
                let segs = segments(bytes, v);
                let fits = segs.iter().all(|s| match s {
                    Segment::Numeric(d) | Segment::Byte(d) => d.len() < 1 << s.count_bits(v),
                }) && segs.iter().map(|s| s.bits(v)).sum::<usize>()
                    <= data_codewords(v, level) * 8;
                fits.then_some((v, segs))
            })
            .ok_or_else(|| format!("QR payload of {} bytes is too long to encode", bytes.len()))?;
        let data = with_ecc(&codewords(&segs, ver, level), ver, level);
        let mut symbol = Symbol::new(ver, level);
        symbol.place(&data);
        let modules = symbol.data_modules();
        let mut runs = Vec::with_capacity(symbol.size + 2);
        let mut best = (u32::MAX, 0);
        if symbol.size <= 64 {
            // Each mask's lines come from the unmasked symbol by XOR with per-version tables.
            let size = symbol.size;
            let tables = mask_tables(ver, level);
            let (mut base_rows, mut base_cols) = (vec![0u64; size], vec![0u64; size]);
            pack(&symbol.dark, size, &mut base_rows, &mut base_cols);
            let (mut rows, mut cols) = (vec![0u64; size], vec![0u64; size]);
            for mask in 0..8 {
                let t = &tables[mask];
                for (i, (r, c)) in rows.iter_mut().zip(cols.iter_mut()).enumerate() {
                    *r = base_rows[i] ^ t.rows[i];
                    *c = base_cols[i] ^ t.cols[i];
                }
                let score = penalty_packed(&rows, &cols, size, &mut runs);
                if score < best.0 {
                    best = (score, mask as u32);
                }
            }
        } else {
            for mask in 0..8 {
                symbol.apply_mask(&modules, mask);
                symbol.format_bits(mask);
                let score = symbol.penalty(&mut runs);
                if score < best.0 {
                    best = (score, mask);
                }
                symbol.apply_mask(&modules, mask);
            }
        }
        symbol.apply_mask(&modules, best.1);
        symbol.format_bits(best.1);
        Ok(Matrix {
            width: symbol.size,
            dark: symbol.dark,
        })
    }

    /// The dark modules as rectangles: horizontal runs, and a run repeated at the same place
    /// on the rows below merged into one taller rectangle: (column, row, width, height). Fewer
    /// rectangles mean a shorter page: a QR is most of a card's content stream.
    pub fn rects(&self) -> Vec<(usize, usize, usize, usize)> {
        let mut done = Vec::with_capacity(self.width * 4);
        // Rectangles still growing downwards, by (column, width), in row order.
        let mut open: Vec<(usize, usize, usize, usize)> = Vec::with_capacity(self.width);
        let mut next: Vec<(usize, usize, usize, usize)> = Vec::with_capacity(self.width);
        let mut row_runs = Vec::with_capacity(self.width);
        for y in 0..self.width {
            self.row_runs(y, &mut row_runs);
            next.clear();
            let mut i = 0;
            for &(x, w) in &row_runs {
                while i < open.len() && (open[i].0, open[i].2) < (x, w) {
                    done.push(open[i]);
                    i += 1;
                }
                if i < open.len() && open[i].0 == x && open[i].2 == w {
                    let mut r = open[i];
                    r.3 += 1;
                    next.push(r);
                    i += 1;
                } else {
                    next.push((x, y, w, 1));
                }
            }
            done.extend_from_slice(&open[i..]);
            std::mem::swap(&mut open, &mut next);
        }
        done.extend(open);
        done
    }

    /// Horizontal runs of dark modules: (column, row, length).
    pub fn runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        let mut row = Vec::new();
        for y in 0..self.width {
            self.row_runs(y, &mut row);
            runs.extend(row.iter().map(|&(x, len)| (x, y, len)));
        }
        runs
    }

    /// The runs of dark modules of row `y`: (column, length), left to right.
    fn row_runs(&self, y: usize, out: &mut Vec<(usize, usize)>) {
        out.clear();
        let row = &self.dark[y * self.width..(y + 1) * self.width];
        let mut x = 0;
        while x < self.width {
            if row[x] {
                let start = x;
                while x < self.width && row[x] {
                    x += 1;
                }
                out.push((start, x - start));
            } else {
                x += 1;
            }
        }
    }

    /// Modules across, quiet zone included.
    pub fn span(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rasterises the runs (not the matrix) at 4 px per module and decodes the picture.
    fn decode_runs(m: &Matrix) -> String {
        let scale = 4;
        let size = m.span() * scale;
        let mut dark = vec![false; size * size];
        for (x, y, len) in m.runs() {
            for py in (y + QUIET_ZONE) * scale..(y + QUIET_ZONE + 1) * scale {
                for px in (x + QUIET_ZONE) * scale..(x + QUIET_ZONE + len) * scale {
                    dark[py * size + px] = true;
                }
            }
        }
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(size, size, |x, y| {
            if dark[y * size + x] { 0 } else { 255 }
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    #[test]
    fn packed_and_plain_penalties_agree() {
        for (len, level) in [0, 5, 17, 34, 60, 120, 200]
            .into_iter()
            .flat_map(|len| [(len, Level::M), (len, Level::Q)])
        {
            let payload: String = (0..len)
                .map(|i| char::from(b'a' + (i * 11 % 26) as u8))
                .collect();
            let bytes = payload.as_bytes();
            let Some(ver) =
                (1..=11).find(|&v| 12 + bytes.len() * 8 <= data_codewords(v, level) * 8)
            else {
                continue;
            };
            let mut symbol = Symbol::new(ver, level);
            symbol.place(&with_ecc(
                &codewords(&[Segment::Byte(bytes)], ver, level),
                ver,
                level,
            ));
            let modules = symbol.data_modules();
            let size = symbol.size;
            let mut runs = Vec::new();
            let (mut base_rows, mut base_cols) = (vec![0u64; size], vec![0u64; size]);
            pack(&symbol.dark, size, &mut base_rows, &mut base_cols);
            let tables = mask_tables(ver, level);
            for mask in 0..8 {
                symbol.apply_mask(&modules, mask);
                symbol.format_bits(mask);
                let (mut rows, mut cols) = (vec![0u64; size], vec![0u64; size]);
                pack(&symbol.dark, size, &mut rows, &mut cols);
                // The XOR tables give exactly the masked symbol's lines.
                let t = &tables[mask as usize];
                for i in 0..size {
                    assert_eq!(base_rows[i] ^ t.rows[i], rows[i], "mask {mask} row {i}");
                    assert_eq!(base_cols[i] ^ t.cols[i], cols[i], "mask {mask} column {i}");
                }
                let plain = symbol.penalty(&mut runs);
                assert_eq!(
                    penalty_packed(&rows, &cols, size, &mut runs),
                    plain,
                    "{len} bytes, mask {mask}"
                );
                symbol.apply_mask(&modules, mask);
            }
        }
    }

    #[test]
    fn every_version_and_level_decodes_with_an_independent_decoder() {
        for level in [Level::L, Level::M, Level::Q, Level::H] {
            // Lengths that need each version from 1 to 40 at this level, plus the edges.
            let mut lengths: Vec<usize> = (1..=40)
                .map(|v| data_codewords(v, level).saturating_sub(3))
                .collect();
            lengths.extend([0, 1, 14, 15, 16]);
            for len in lengths {
                let payload: String = (0..len)
                    .map(|i| char::from(b'!' + (i * 7 % 90) as u8))
                    .collect();
                let m = Matrix::encode(&payload, level).unwrap();
                assert_eq!(
                    decode_runs(&m),
                    payload,
                    "{level:?}: {len} bytes, {} modules",
                    m.width
                );
            }
        }
        assert!(Matrix::encode(&"x".repeat(2331), Level::M).is_ok());
        assert!(Matrix::encode(&"x".repeat(2332), Level::M).is_err());
        assert!(Matrix::encode(&"x".repeat(1273), Level::H).is_ok());
        assert!(Matrix::encode(&"x".repeat(1274), Level::H).is_err());
    }

    #[test]
    fn digit_runs_go_in_numeric_mode_where_that_is_shorter() {
        // The phone number and the access code: version 3 (29 modules) at Q, where byte mode
        // alone needs version 4 (33).
        let tel = "tel:+442079460000,,482913613036%23";
        let m = Matrix::encode(tel, Level::Q).unwrap();
        assert_eq!((m.width, decode_runs(&m).as_str()), (29, tel));
        assert_eq!(
            segments(tel.as_bytes(), 3),
            vec![
                Segment::Byte(b"tel:+"),
                Segment::Numeric(b"442079460000"),
                Segment::Byte(b",,"),
                Segment::Numeric(b"482913613036"),
                Segment::Byte(b"%23"),
            ]
        );
        // A short run stays in its bytes; digits alone are one numeric segment.
        assert_eq!(segments(b"ab1cd", 1), vec![Segment::Byte(b"ab1cd")]);
        assert_eq!(segments(b"0123", 1), vec![Segment::Numeric(b"0123")]);
        // The numeric capacity of version 40-L, and mixed payloads of every shape decode.
        assert!(Matrix::encode(&"7".repeat(7089), Level::L).is_ok());
        assert!(Matrix::encode(&"7".repeat(7090), Level::L).is_err());
        for seed in 0..200u32 {
            let payload: String = (0..(seed % 90 + 1))
                .map(|i| {
                    let r = (seed * 31 + i * 17) % 7;
                    if r < 4 {
                        char::from(b'0' + ((seed + i) % 10) as u8)
                    } else {
                        char::from(b'a' + ((seed * i) % 26) as u8)
                    }
                })
                .collect();
            for level in [Level::M, Level::H] {
                let m = Matrix::encode(&payload, level).unwrap();
                assert_eq!(decode_runs(&m), payload, "{level:?} {payload}");
            }
        }
    }

    #[test]
    fn runs_decode_back_to_the_payload() {
        for payload in [
            "tel:+442079460000,,123456789012%23",
            "tel:+33123456789,,900000000001%23",
            "x",
        ] {
            let m = Matrix::encode(payload, Level::Q).unwrap();
            assert_eq!(decode_runs(&m), payload);
            // The merged rectangles cover exactly the dark modules, each once.
            let mut cover = vec![0u8; m.width * m.width];
            for (x, y, w, h) in m.rects() {
                for yy in y..y + h {
                    for xx in x..x + w {
                        cover[yy * m.width + xx] += 1;
                    }
                }
            }
            let expect: Vec<u8> = m.dark.iter().map(|d| u8::from(*d)).collect();
            assert_eq!(cover, expect, "{payload}");
            assert!(m.rects().len() < m.runs().len(), "rows merge");
            let modules = m.dark.iter().filter(|d| **d).count();
            let covered: usize = m.runs().iter().map(|r| r.2).sum();
            assert_eq!(modules, covered);
            assert!(m.runs().len() < modules, "runs merge modules");
        }
    }
}
