//! A source image (`--image-source assets|DIR`) decoded to 8-bit RGB and resized as AIPerf's
//! `Image.open(path).resize((w, h))` does: Pillow 12.3's default filter there is BICUBIC (Keys'
//! cubic, a = -0.5, its support widened when shrinking), which is the `image` crate's
//! `CatmullRom`. The pixels differ from Pillow's in rounding only; the size is the same.

use image::imageops::{resize, FilterType};
use image::RgbImage;

/// Why a source file gave no image.
#[derive(Debug, PartialEq)]
pub enum Unreadable {
    /// Not an image Pillow would read either (AIPerf retires such a file and skips it).
    NotAnImage(String),
    /// An image format Pillow reads but sweepkit does not decode (PNG and JPEG only).
    OtherFormat(&'static str),
}

/// The image format named by a file's first bytes, for the formats Pillow reads that sweepkit
/// does not decode (so a folder with them is refused rather than silently sampled differently).
fn other_format(bytes: &[u8]) -> Option<&'static str> {
    let at = |i: usize, m: &[u8]| bytes.get(i..i + m.len()) == Some(m);
    [
        (at(0, b"GIF8"), "GIF"),
        (at(0, b"BM"), "BMP"),
        (at(0, b"RIFF") && at(8, b"WEBP"), "WebP"),
        (at(0, b"II*\0") || at(0, b"MM\0*"), "TIFF"),
        (at(4, b"ftypavif") || at(4, b"ftypavis"), "AVIF"),
        (at(0, b"\0\0\x01\0"), "ICO"),
        (at(0, b"qoif"), "QOI"),
    ]
    .into_iter()
    .find_map(|(hit, name)| hit.then_some(name))
}

/// A PNG or JPEG file's pixels as RGB (alpha dropped, grey expanded, 16 bits cut to 8).
pub fn decode(bytes: &[u8]) -> Result<RgbImage, Unreadable> {
    if let Some(f) = other_format(bytes) {
        return Err(Unreadable::OtherFormat(f));
    }
    image::load_from_memory(bytes)
        .map(|i| i.to_rgb8())
        .map_err(|e| Unreadable::NotAnImage(e.to_string()))
}

/// `img` resized to `width x height` with Pillow's default filter, as `width * height * 3` bytes.
pub fn resized(img: &RgbImage, width: u32, height: u32) -> Vec<u8> {
    if img.dimensions() == (width, height) {
        return img.as_raw().clone();
    }
    resize(img, width, height, FilterType::CatmullRom).into_raw()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::media::{jpeg, png};

    /// A solid colour survives the codecs and the resize (so a test can tell files apart by it);
    /// the size is the one asked for.
    #[test]
    fn solid_images_decode_and_resize_to_the_size_asked() {
        let rgb: Vec<u8> = [200u8, 30, 90].repeat(40 * 24);
        for file in [png::encode(40, 24, &rgb), jpeg::encode(40, 24, &rgb, 85)] {
            let img = decode(&file).unwrap();
            assert_eq!(img.dimensions(), (40, 24));
            for (w, h) in [(13, 50), (40, 24), (7, 3)] {
                let out = resized(&img, w, h);
                assert_eq!(out.len(), (w * h * 3) as usize);
                for p in out.chunks(3) {
                    assert!(
                        p.iter().zip([200u8, 30, 90]).all(|(a, b)| a.abs_diff(b) <= 3),
                        "{p:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn other_formats_and_non_images_are_told_apart() {
        assert_eq!(decode(b"GIF89a....").unwrap_err(), Unreadable::OtherFormat("GIF"));
        assert!(matches!(decode(b"not an image"), Err(Unreadable::NotAnImage(_))));
        let mut truncated = png::encode(8, 8, &[1u8; 8 * 8 * 3]);
        truncated.truncate(40);
        assert!(matches!(decode(&truncated), Err(Unreadable::NotAnImage(_))));
    }
}
