//! A minimal baseline JPEG writer (JFIF, YCbCr 4:4:4, the standard's example quantization
//! tables scaled to a quality as libjpeg and Pillow scale them, and its example Huffman tables),
//! enough for synthetic images any decoder reads. Also reads a JPEG's size from its SOFn marker.

/// The example luminance and chrominance quantization tables (ITU T.81 Annex K), row order.
const LUMA_Q: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17,
    22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78,
    87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_Q: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/// Code lengths (count per length 1..16) and symbols of the example Huffman tables (Annex K.3).
const DC_LUMA: ([u8; 16], &[u8]) = (
    [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
    &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
);
const DC_CHROMA: ([u8; 16], &[u8]) = (
    [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
    &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
);
const AC_LUMA_BITS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_LUMA_VALS: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22,
    0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33,
    0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34,
    0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55,
    0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76,
    0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96,
    0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5,
    0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4,
    0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1,
    0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
];
const AC_CHROMA_BITS: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
const AC_CHROMA_VALS: [u8; 162] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13,
    0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62,
    0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54,
    0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75,
    0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94,
    0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3,
    0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2,
    0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea,
    0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
];

/// Pillow's default JPEG quality.
pub const DEFAULT_QUALITY: u8 = 75;
/// The quality AIPerf 0.13 saves its images at (`utils.encode_image`: `quality=85, subsampling=0`).
pub const AIPERF_QUALITY: u8 = 85;

/// `rgb` (`width * height * 3` bytes, rows top to bottom) as a baseline JPEG of `quality` (1-100).
pub fn encode(width: u32, height: u32, rgb: &[u8], quality: u8) -> Vec<u8> {
    assert_eq!(
        rgb.len(),
        width as usize * height as usize * 3,
        "rgb holds width*height pixels"
    );
    let zz = zigzag();
    let qs = [scaled(&LUMA_Q, quality), scaled(&CHROMA_Q, quality)];
    let mut out = vec![0xFF, 0xD8];
    segment(&mut out, 0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    for (id, q) in qs.iter().enumerate() {
        let mut d = vec![id as u8];
        d.extend(zz.iter().map(|&i| q[i] as u8));
        segment(&mut out, 0xDB, &d);
    }
    let mut sof = vec![8];
    sof.extend_from_slice(&(height as u16).to_be_bytes());
    sof.extend_from_slice(&(width as u16).to_be_bytes());
    sof.extend_from_slice(&[3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]);
    segment(&mut out, 0xC0, &sof);
    let tables = [
        (0x00, DC_LUMA.0, DC_LUMA.1),
        (0x10, AC_LUMA_BITS, &AC_LUMA_VALS[..]),
        (0x01, DC_CHROMA.0, DC_CHROMA.1),
        (0x11, AC_CHROMA_BITS, &AC_CHROMA_VALS[..]),
    ];
    for (class_id, bits, vals) in tables {
        let mut d = vec![class_id];
        d.extend_from_slice(&bits);
        d.extend_from_slice(vals);
        segment(&mut out, 0xC4, &d);
    }
    segment(&mut out, 0xDA, &[3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
    let codes = [
        (codes(&DC_LUMA.0, DC_LUMA.1), codes(&AC_LUMA_BITS, &AC_LUMA_VALS)),
        (
            codes(&DC_CHROMA.0, DC_CHROMA.1),
            codes(&AC_CHROMA_BITS, &AC_CHROMA_VALS),
        ),
    ];
    let mut bits = BitWriter { out, acc: 0, n: 0 };
    let mut prev_dc = [0i32; 3];
    for by in (0..height).step_by(8) {
        for bx in (0..width).step_by(8) {
            let blocks = ycbcr_blocks(rgb, width, height, bx, by);
            for (c, block) in blocks.iter().enumerate() {
                let t = usize::from(c > 0);
                let coef = quantized(block, &qs[t], &zz);
                prev_dc[c] = encode_block(&mut bits, &coef, prev_dc[c], &codes[t]);
            }
        }
    }
    let mut out = bits.finish();
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// Width and height from the first SOFn marker (None: not a JPEG).
pub fn size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 4 || bytes[..2] != [0xFF, 0xD8] {
        return None;
    }
    let mut i = 2;
    while i + 9 < bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        let sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if sof {
            let h = u16::from_be_bytes([bytes[i + 5], bytes[i + 6]]) as u32;
            let w = u16::from_be_bytes([bytes[i + 7], bytes[i + 8]]) as u32;
            return Some((w, h));
        }
        i += 2 + len;
    }
    None
}

fn segment(out: &mut Vec<u8>, marker: u8, data: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// libjpeg's quality scaling of a base table.
fn scaled(base: &[u16; 64], quality: u8) -> [u16; 64] {
    let q = quality.clamp(1, 100) as u32;
    let s = if q < 50 { 5000 / q } else { 200 - 2 * q };
    base.map(|b| ((b as u32 * s + 50) / 100).clamp(1, 255) as u16)
}

/// The zig-zag scan: position k of the scan is row-order index `zigzag()[k]`.
fn zigzag() -> [usize; 64] {
    let mut order = [0usize; 64];
    let (mut r, mut c) = (0i32, 0i32);
    for slot in order.iter_mut() {
        *slot = (r * 8 + c) as usize;
        if (r + c) % 2 == 0 {
            if c == 7 {
                r += 1;
            } else if r == 0 {
                c += 1;
            } else {
                r -= 1;
                c += 1;
            }
        } else if r == 7 {
            c += 1;
        } else if c == 0 {
            r += 1;
        } else {
            r += 1;
            c -= 1;
        }
    }
    order
}

/// The canonical Huffman code (code, length) of each symbol.
/// A Huffman table as codes: (code, length in bits) for each symbol.
type Codes = [(u16, u8); 256];

fn codes(bits: &[u8; 16], vals: &[u8]) -> Codes {
    let mut table = [(0u16, 0u8); 256];
    let (mut code, mut k) = (0u16, 0usize);
    for (len, &n) in bits.iter().enumerate() {
        for _ in 0..n {
            table[vals[k] as usize] = (code, len as u8 + 1);
            code += 1;
            k += 1;
        }
        code <<= 1;
    }
    table
}

/// The Y, Cb and Cr 8x8 blocks at (bx, by), level-shifted; edge pixels repeat past the image.
fn ycbcr_blocks(rgb: &[u8], w: u32, h: u32, bx: u32, by: u32) -> [[f32; 64]; 3] {
    let mut b = [[0f32; 64]; 3];
    for y in 0..8 {
        for x in 0..8 {
            let (px, py) = ((bx + x).min(w - 1), (by + y).min(h - 1));
            let i = (py as usize * w as usize + px as usize) * 3;
            let (r, g, bl) = (rgb[i] as f32, rgb[i + 1] as f32, rgb[i + 2] as f32);
            let k = (y * 8 + x) as usize;
            b[0][k] = 0.299 * r + 0.587 * g + 0.114 * bl - 128.0;
            b[1][k] = -0.168_736 * r - 0.331_264 * g + 0.5 * bl;
            b[2][k] = 0.5 * r - 0.418_688 * g - 0.081_312 * bl;
        }
    }
    b
}

/// The block's DCT coefficients divided by the table, in zig-zag order.
fn quantized(block: &[f32; 64], q: &[u16; 64], zz: &[usize; 64]) -> [i32; 64] {
    let cos = |x: usize, u: usize| ((2 * x + 1) as f32 * u as f32 * std::f32::consts::PI / 16.0).cos();
    let alpha = |u: usize| {
        if u == 0 {
            std::f32::consts::FRAC_1_SQRT_2
        } else {
            1.0
        }
    };
    // Separable 2-D DCT: rows, then columns.
    let mut rows = [0f32; 64];
    for y in 0..8 {
        for u in 0..8 {
            rows[y * 8 + u] = (0..8).map(|x| block[y * 8 + x] * cos(x, u)).sum::<f32>() * alpha(u) / 2.0;
        }
    }
    let mut coef = [0f32; 64];
    for u in 0..8 {
        for v in 0..8 {
            coef[v * 8 + u] = (0..8).map(|y| rows[y * 8 + u] * cos(y, v)).sum::<f32>() * alpha(v) / 2.0;
        }
    }
    let mut out = [0i32; 64];
    for (k, &i) in zz.iter().enumerate() {
        out[k] = (coef[i] / q[i] as f32).round() as i32;
    }
    out
}

/// Writes one block (zig-zag coefficients) and returns its DC for the next block's difference.
fn encode_block(w: &mut BitWriter, coef: &[i32; 64], prev_dc: i32, (dc, ac): &(Codes, Codes)) -> i32 {
    let diff = coef[0] - prev_dc;
    let (size, bits) = magnitude(diff);
    w.put(dc[size as usize]);
    w.put((bits, size));
    let mut run: u8 = 0;
    for &c in &coef[1..] {
        if c == 0 {
            run += 1;
            continue;
        }
        while run > 15 {
            w.put(ac[0xF0]);
            run -= 16;
        }
        let (size, bits) = magnitude(c);
        w.put(ac[(run << 4 | size) as usize]);
        w.put((bits, size));
        run = 0;
    }
    if run > 0 {
        w.put(ac[0x00]);
    }
    coef[0]
}

/// A value's size category and its bits (negative values as `v - 1` in `size` bits).
fn magnitude(v: i32) -> (u8, u16) {
    let size = (32 - v.unsigned_abs().leading_zeros()) as u8;
    let bits = if v < 0 {
        (v - 1) as u16 & ((1u32 << size) - 1) as u16
    } else {
        v as u16
    };
    (size, bits)
}

/// Entropy-coded bits, most significant first, with 0xFF bytes stuffed.
struct BitWriter {
    out: Vec<u8>,
    acc: u32,
    n: u8,
}

impl BitWriter {
    fn put(&mut self, (code, len): (u16, u8)) {
        for i in (0..len).rev() {
            self.acc = (self.acc << 1) | ((code >> i) & 1) as u32;
            self.n += 1;
            if self.n == 8 {
                let byte = self.acc as u8;
                self.out.push(byte);
                if byte == 0xFF {
                    self.out.push(0);
                }
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    /// Pads the last byte with 1 bits, as the standard asks.
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            let pad = 8 - self.n;
            self.put((((1u32 << pad) - 1) as u16, pad));
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_huffman_tables_hold_every_symbol_once() {
        for (bits, vals) in [(AC_LUMA_BITS, &AC_LUMA_VALS), (AC_CHROMA_BITS, &AC_CHROMA_VALS)] {
            assert_eq!(bits.iter().map(|&b| b as usize).sum::<usize>(), 162);
            let mut seen = vals.to_vec();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), 162, "EOB, ZRL and run/size 0-15 x 1-10");
        }
        let z = zigzag();
        assert_eq!(&z[..6], &[0, 1, 8, 16, 9, 2]);
        assert_eq!(z[63], 63);
    }

    #[test]
    fn a_jpeg_states_its_size_and_ends_with_eoi() {
        let rgb: Vec<u8> = (0..(13u32 * 21 * 3)).map(|i| (i * 37 % 256) as u8).collect();
        let jpg = encode(13, 21, &rgb, DEFAULT_QUALITY);
        assert_eq!(size(&jpg), Some((13, 21)));
        assert_eq!(&jpg[jpg.len() - 2..], &[0xFF, 0xD9]);
        assert_eq!(magnitude(-3), (2, 0b00));
        assert_eq!(magnitude(5), (3, 0b101));
        assert_eq!(magnitude(0), (0, 0));
    }
}
