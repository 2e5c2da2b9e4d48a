//! A minimal PNG writer: 8-bit RGB, one IDAT of stored (uncompressed) deflate blocks. AIPerf's
//! default images are random noise, which deflate cannot shrink, so storing costs nothing and
//! needs no compression crate. Also reads a PNG's size from its IHDR.

const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// `rgb` (`width * height * 3` bytes, rows top to bottom) as a PNG file.
pub fn encode(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    assert_eq!(
        rgb.len(),
        width as usize * height as usize * 3,
        "rgb holds width*height pixels"
    );
    let mut out = SIGNATURE.to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // depth 8, RGB, deflate, filter 0, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    // Each row: filter type 0 (none), then its pixels.
    let row = width as usize * 3;
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for r in rgb.chunks(row.max(1)).take(height as usize) {
        raw.push(0);
        raw.extend_from_slice(r);
    }
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Width and height of a PNG (None: not a PNG).
pub fn size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != SIGNATURE || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    Some((be(16), be(20)))
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&[kind.as_slice(), data]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of stored deflate blocks (at most 65,535 bytes each) and its Adler-32.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, b) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let n = b.len() as u16;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(b);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += x as u32;
            b += a;
        }
        a %= 65_521;
        b %= 65_521;
    }
    (b << 16) | a
}

fn crc32(parts: &[&[u8]]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|n| {
            (0..8).fold(n, |c, _| {
                if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    let mut c = 0xFFFF_FFFFu32;
    for p in parts {
        for &x in *p {
            c = table[((c ^ x as u32) & 0xFF) as usize] ^ (c >> 8);
        }
    }
    c ^ 0xFFFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksums PNG and zlib define, on their published check values.
    #[test]
    fn checksums_match_the_standard_check_values() {
        assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn a_png_states_its_size_and_holds_every_pixel() {
        let rgb: Vec<u8> = (0..(70_000u32 * 3)).map(|i| (i % 251) as u8).collect();
        let png = encode(350, 200, &rgb);
        assert_eq!(size(&png), Some((350, 200)));
        assert_eq!(
            &png[png.len() - 12..png.len() - 8],
            &0u32.to_be_bytes(),
            "IEND is empty"
        );
        // Stored blocks: the pixels are in the file as they are, row by row after a 0 filter byte.
        let first_row = &rgb[..350 * 3];
        assert!(png
            .windows(first_row.len() + 1)
            .any(|w| w[0] == 0 && &w[1..] == first_row));
        assert_eq!(size(b"GIF89a................."), None);
    }
}
