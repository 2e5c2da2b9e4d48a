//! WAV (RIFF, PCM) written from samples, and a WAV's duration read from its header. Bit depths
//! as AIPerf writes them through libsndfile: 8-bit unsigned, 16/24/32-bit signed little-endian.

/// The bit depths a WAV may have.
pub const DEPTHS: [u16; 4] = [8, 16, 24, 32];

/// Interleaved `samples` (each in [-1, 1]) as a PCM WAV file. AIPerf scales to the depth's range
/// (8-bit through 16-bit, as libsndfile converts it); the same here.
pub fn encode(rate: u32, depth: u16, channels: u16, samples: &[f64]) -> Vec<u8> {
    assert!(DEPTHS.contains(&depth), "a supported depth");
    let width = depth as usize / 8;
    let data_len = samples.len() * width;
    let mut out = Vec::with_capacity(44 + data_len);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&((36 + data_len) as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    let block = channels as u32 * width as u32;
    out.extend_from_slice(&(rate * block).to_le_bytes());
    out.extend_from_slice(&(block as u16).to_le_bytes());
    out.extend_from_slice(&depth.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data_len as u32).to_le_bytes());
    for &s in samples {
        let s = s.clamp(-1.0, 1.0);
        match depth {
            8 => {
                let v16 = (s * 32_767.0) as i16;
                out.push(((v16 >> 8) + 128) as u8);
            }
            16 => out.extend_from_slice(&((s * 32_767.0) as i16).to_le_bytes()),
            24 => out.extend_from_slice(&((s * 8_388_607.0) as i32).to_le_bytes()[..3]),
            _ => out.extend_from_slice(&((s * 2_147_483_647.0) as i32).to_le_bytes()),
        }
    }
    out
}

/// What a WAV header says: sample rate (Hz), channels, bits per sample and seconds of audio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WavInfo {
    pub rate: u32,
    pub channels: u16,
    pub depth: u16,
    pub seconds: f64,
}

/// A WAV's header read (None: not a RIFF/WAVE file with `fmt ` before `data`).
pub fn info(bytes: &[u8]) -> Option<WavInfo> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let le16 = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let le32 = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    let (mut i, mut fmt) = (12, None);
    while i + 8 <= bytes.len() {
        let len = le32(i + 4) as usize;
        match &bytes[i..i + 4] {
            b"fmt " if i + 24 <= bytes.len() => {
                fmt = Some((le16(i + 10), le32(i + 12), le32(i + 16), le16(i + 22)))
            }
            b"data" => {
                let (channels, rate, byte_rate, depth) = fmt?;
                // The data chunk's stated length, or what the file holds when it is cut short.
                let data = len.min(bytes.len() - i - 8);
                return (byte_rate > 0).then(|| WavInfo {
                    rate,
                    channels,
                    depth,
                    seconds: data as f64 / byte_rate as f64,
                });
            }
            _ => {}
        }
        i += 8 + len + (len & 1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wav_states_its_rate_channels_depth_and_duration() {
        for depth in DEPTHS {
            let samples: Vec<f64> = (0..(2 * 8000)).map(|i| ((i % 7) as f64 - 3.0) / 3.0).collect();
            let wav = encode(8000, depth, 2, &samples);
            assert_eq!(wav.len(), 44 + samples.len() * depth as usize / 8);
            let got = info(&wav).unwrap();
            assert_eq!((got.rate, got.channels, got.depth), (8000, 2, depth));
            assert!((got.seconds - 1.0).abs() < 1e-12, "{got:?}");
        }
        let eight = encode(16_000, 8, 1, &[-1.0, 0.0, 1.0]);
        assert_eq!(&eight[44..], &[0, 128, 255], "8-bit is unsigned around 128");
        assert_eq!(info(b"RIFF....WAVEjunk"), None);
    }
}
