//! MP3 (MPEG audio layer III) written from samples with LAME, the encoder libsndfile (and so
//! AIPerf's `soundfile`) uses, built from the source bundled in the `mp3lame-sys` crate; and an
//! MP3's length read back from its frame headers, so the mock can say how long a clip was.

use std::num::NonZeroU32;

use mp3lame_encoder::{Builder, FlushGap, InterleavedPcm, MonoPcm};

/// The sample rates an MP3 can have, in Hz (MPEG-1, -2 and -2.5; AIPerf's
/// `MP3_SUPPORTED_SAMPLE_RATES`).
pub const RATES: [u32; 9] = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];

/// Interleaved `samples` (each in [-1, 1]) as an MP3 file at their own rate (as libsndfile
/// keeps it): LAME's defaults otherwise (CBR at the bit rate LAME picks for the rate and channels,
/// quality 5, joint stereo for two channels), 16-bit input as AIPerf hands libsndfile, the last
/// frame padded with silence, and no Xing/LAME info frame (every frame is audio). `rate` must be
/// one of [`RATES`].
pub fn encode(rate: u32, channels: u16, samples: &[f64]) -> anyhow::Result<Vec<u8>> {
    let pcm: Vec<i16> = samples
        .iter()
        .map(|s| (s.clamp(-1.0, 1.0) * 32_767.0) as i16)
        .collect();
    let lame = |e: &dyn std::fmt::Debug| anyhow::anyhow!("the MP3 encoder (LAME) refused: {e:?}");
    let mut b = Builder::new().ok_or_else(|| anyhow::anyhow!("the MP3 encoder (LAME) did not start"))?;
    b.set_num_channels(channels as u8).map_err(|e| lame(&e))?;
    b.set_sample_rate(rate).map_err(|e| lame(&e))?;
    b.set_output_sample_rate(NonZeroU32::new(rate))
        .map_err(|e| lame(&e))?;
    b.set_to_write_vbr_tag(false).map_err(|e| lame(&e))?;
    let mut enc = b.build().map_err(|e| lame(&e))?;
    let mut out = Vec::with_capacity(mp3lame_encoder::max_required_buffer_size(pcm.len()));
    let written = if channels == 2 {
        enc.encode_to_vec(InterleavedPcm(&pcm), &mut out)
    } else {
        enc.encode_to_vec(MonoPcm(&pcm), &mut out)
    };
    written.map_err(|e| lame(&e))?;
    out.reserve(7200);
    enc.flush_to_vec::<FlushGap>(&mut out).map_err(|e| lame(&e))?;
    Ok(out)
}

/// What an MP3's frames say: sample rate (Hz), channels of the first frame, audio frames and
/// seconds of audio (frames x samples per frame / rate, so it includes the encoder's delay and
/// the last frame's padding: up to about two frames, 0.05 s at 48 kHz, over the input).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mp3Info {
    pub rate: u32,
    pub channels: u16,
    pub frames: u32,
    pub seconds: f64,
}

/// One layer III frame header: (bytes in the frame, samples per channel, rate in Hz, channels).
fn frame(h: [u8; 4]) -> Option<(usize, u32, u32, u16)> {
    if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 || h[1] & 0x06 != 0x02 {
        return None; // no sync, or not layer III
    }
    let version = (h[1] >> 3) & 3; // 0: MPEG-2.5, 2: MPEG-2, 3: MPEG-1
    let (bri, sri, pad) = ((h[2] >> 4) as usize, ((h[2] >> 2) & 3) as usize, (h[2] >> 1) & 1);
    if version == 1 || bri == 0 || bri == 15 || sri == 3 {
        return None;
    }
    const V1: [u32; 15] = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
    const V2: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let base = [44100, 48000, 32000][sri];
    let (kbps, rate, samples) = match version {
        3 => (V1[bri], base, 1152),
        2 => (V2[bri], base / 2, 576),
        _ => (V2[bri], base / 4, 576),
    };
    let len = (samples / 8 * kbps * 1000 / rate) as usize + pad as usize;
    let channels = if h[3] >> 6 == 3 { 1 } else { 2 };
    Some((len, samples, rate, channels))
}

/// An MP3's frames read (None: no layer III frame at the start, after any ID3v2 tag). A
/// Xing/Info frame (a VBR header, silent) is not counted.
pub fn info(bytes: &[u8]) -> Option<Mp3Info> {
    let mut i = 0;
    if bytes.len() >= 10 && &bytes[..3] == b"ID3" {
        let size = bytes[6..10]
            .iter()
            .fold(0usize, |n, b| (n << 7) | (*b & 0x7F) as usize);
        i = 10 + size + if bytes[5] & 0x10 != 0 { 10 } else { 0 };
    }
    let (mut first, mut frames, mut samples) = (None, 0u32, 0u64);
    while i + 4 <= bytes.len() {
        let Some((len, n, rate, channels)) = frame(bytes[i..i + 4].try_into().expect("4 bytes")) else {
            break;
        };
        let body = &bytes[i..(i + len).min(bytes.len())];
        let info_frame =
            frames == 0 && first.is_none() && body.windows(4).take(48).any(|w| w == b"Xing" || w == b"Info");
        if !info_frame {
            frames += 1;
            samples += n as u64;
        }
        first.get_or_insert((rate, channels));
        i += len.max(1);
    }
    let (rate, channels) = first?;
    Some(Mp3Info {
        rate,
        channels,
        frames,
        seconds: samples as f64 / rate as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every MP3 rate, mono and stereo: the frames say the rate, the channels and a length no
    /// shorter than the input and at most three frames longer (LAME's delay and padding).
    #[test]
    fn an_mp3_states_its_rate_channels_and_length() {
        for rate in RATES {
            for channels in [1u16, 2] {
                let n = (rate as f64 * 0.7) as usize * channels as usize;
                let samples: Vec<f64> = (0..n).map(|i| ((i % 13) as f64 - 6.0) / 8.0).collect();
                let mp3 = encode(rate, channels, &samples).unwrap();
                let got = info(&mp3).unwrap();
                assert_eq!((got.rate, got.channels), (rate, channels), "{got:?}");
                let per_frame = if rate >= 32000 { 1152.0 } else { 576.0 };
                let over = got.seconds - 0.7;
                assert!(
                    over >= 0.0 && over <= 3.0 * per_frame / rate as f64,
                    "{rate} Hz x{channels}: {got:?}"
                );
            }
        }
        assert_eq!(info(b"RIFF....WAVE"), None);
        assert_eq!(
            info(&[0xFF, 0xFB, 0xF0, 0x00]),
            None,
            "bitrate index 15 is no frame"
        );
    }

    /// An ID3v2 tag and a Xing header frame in front of the audio are skipped, not counted.
    #[test]
    fn id3_tags_and_info_frames_are_not_audio() {
        let mp3 = encode(44100, 1, &vec![0.1; 44100]).unwrap();
        let plain = info(&mp3).unwrap();
        let mut tagged = b"ID3\x04\x00\x00\x00\x00\x00\x05abcde".to_vec();
        let (len, ..) = frame(mp3[..4].try_into().unwrap()).unwrap();
        assert!(len > 40, "{len}");
        let mut xing = mp3[..len].to_vec();
        xing[36..40].copy_from_slice(b"Xing");
        tagged.extend_from_slice(&xing);
        tagged.extend_from_slice(&mp3);
        assert_eq!(info(&tagged), Some(plain));
    }
}
