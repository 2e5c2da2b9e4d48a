//! What a video container's header says, read without decoding: an MP4's duration (`mvhd`) and
//! frame size (the first `tkhd`), a WebM's duration (Segment Info's `Duration` x `TimecodeScale`)
//! and frame size (`PixelWidth`/`PixelHeight`), and its audio track's channel count (an MP4 `trak`
//! whose `hdlr` is `soun`: its sample entry's `channelcount`; a WebM `Audio` element's
//! `Channels`). The mock charges and records videos by it.

/// A video's length in seconds, frame size in pixels and audio channels (each None when not
/// stated; `audio_channels` None: no audio track).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VideoInfo {
    pub seconds: Option<f64>,
    pub size: Option<(u32, u32)>,
    pub audio_channels: Option<u16>,
}

/// The header of an MP4 (ISO BMFF) or a WebM (Matroska); None when it is neither.
pub fn info(bytes: &[u8]) -> Option<VideoInfo> {
    if bytes.len() >= 8 && &bytes[4..8] == b"ftyp" {
        Some(mp4(bytes))
    } else if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some(webm(bytes))
    } else {
        None
    }
}

fn be(b: &[u8]) -> u64 {
    b.iter().fold(0, |n, x| (n << 8) | *x as u64)
}

fn find(bytes: &[u8], what: &[u8]) -> Option<usize> {
    bytes.windows(what.len()).position(|w| w == what)
}

fn mp4(bytes: &[u8]) -> VideoInfo {
    let field = |at: usize, len: usize| bytes.get(at..at + len).map(be);
    let seconds = find(bytes, b"mvhd").and_then(|i| {
        let v1 = *bytes.get(i + 4)? == 1;
        let (scale_at, dur_len) = if v1 { (i + 4 + 20, 8) } else { (i + 4 + 12, 4) };
        let scale = field(scale_at, 4)?;
        let duration = field(scale_at + 4, dur_len)?;
        (scale > 0).then(|| duration as f64 / scale as f64)
    });
    let size = find(bytes, b"tkhd").and_then(|i| {
        let at = i + 4 + if *bytes.get(i + 4)? == 1 { 88 } else { 76 };
        let (w, h) = (field(at, 4)? >> 16, field(at + 4, 4)? >> 16);
        (w > 0 && h > 0).then_some((w as u32, h as u32))
    });
    VideoInfo {
        seconds,
        size,
        audio_channels: mp4_audio_channels(bytes),
    }
}

/// The ISO BMFF boxes laid end to end in `bytes`: each one's type and content (a 64-bit size
/// read; a size of 0 runs to the end; a box cut short ends the walk).
fn boxes(bytes: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut i = 0usize;
    std::iter::from_fn(move || {
        let head = bytes.get(i..i + 8)?;
        let (size, skip) = match be(&head[..4]) {
            0 => (bytes.len() - i, 8),
            1 => (usize::try_from(be(bytes.get(i + 8..i + 16)?)).ok()?, 16),
            n => (n as usize, 8),
        };
        let end = i
            .checked_add(size)
            .filter(|&e| e <= bytes.len() && size >= skip)?;
        let item = (&head[4..8], &bytes[i + skip..end]);
        i = end;
        Some(item)
    })
}

/// The content of the first box of type `name` among `bytes`'s boxes.
fn child<'a>(bytes: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    boxes(bytes).find(|(t, _)| *t == name).map(|(_, c)| c)
}

/// The channel count of the first sound track (`moov/trak/mdia` with `hdlr` `soun`), read from
/// its `stsd` sample entry (version/flags, count, then size, type, 6+2+8 bytes, channelcount).
fn mp4_audio_channels(bytes: &[u8]) -> Option<u16> {
    let moov = child(bytes, b"moov")?;
    boxes(moov).filter(|(t, _)| *t == b"trak").find_map(|(_, trak)| {
        let mdia = child(trak, b"mdia")?;
        (child(mdia, b"hdlr")?.get(8..12)? == b"soun").then_some(())?;
        let stsd = child(child(child(mdia, b"minf")?, b"stbl")?, b"stsd")?;
        Some(be(stsd.get(32..34)?) as u16)
    })
}

/// An EBML element's data after the ID ending at `i` (a 1-8 byte size, then the data): its
/// length and bytes.
fn ebml_value(bytes: &[u8], i: usize) -> Option<(usize, &[u8])> {
    ebml_span(bytes, i).map(|(start, len)| (len, &bytes[start..start + len]))
}

/// Where the data of the element whose size starts at `i` begins, and its length.
fn ebml_span(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    let first = *bytes.get(i)?;
    let len_len = first.leading_zeros() as usize + 1;
    if len_len > 8 {
        return None;
    }
    let mut len = (first as u64) & (0xFF >> len_len);
    for b in bytes.get(i + 1..i + len_len)? {
        len = (len << 8) | *b as u64;
    }
    let start = i + len_len;
    let len = usize::try_from(len).ok()?;
    (start.checked_add(len)? <= bytes.len()).then_some((start, len))
}

/// PixelWidth (0xB0) and PixelHeight (0xBA) among a Video element's children (None: the bytes
/// are not a sequence of elements, or either side is missing).
fn video_size(content: &[u8]) -> Option<(u32, u32)> {
    let (mut i, mut w, mut h) = (0, None, None);
    while i < content.len() {
        let id_len = content[i].leading_zeros() as usize + 1;
        if id_len > 4 {
            return None;
        }
        let id = be(content.get(i..i + id_len)?);
        let (start, len) = ebml_span(content, i + id_len)?;
        let value = (1..=4)
            .contains(&len)
            .then(|| be(&content[start..start + len]) as u32);
        match id {
            0xB0 => w = value,
            0xBA => h = value,
            _ => {}
        }
        i = start + len;
    }
    Some((w?, h?))
}

/// Channels (0x9F) among an Audio element's children, when they parse as elements and state
/// SamplingFrequency (0xB5) too, as every Audio element ffmpeg writes does (Matroska's default
/// channel count is 1).
fn audio_channels(content: &[u8]) -> Option<u16> {
    let (mut i, mut channels, mut rate) = (0, 1, false);
    while i < content.len() {
        let id_len = content[i].leading_zeros() as usize + 1;
        if id_len > 4 {
            return None;
        }
        let id = be(content.get(i..i + id_len)?);
        let (start, len) = ebml_span(content, i + id_len)?;
        match id {
            0x9F if (1..=2).contains(&len) => channels = be(&content[start..start + len]) as u16,
            0xB5 if len == 4 || len == 8 => rate = true,
            _ => {}
        }
        i = start + len;
    }
    rate.then_some(channels)
}

fn webm(bytes: &[u8]) -> VideoInfo {
    // The headers come before the first Cluster; frame data after it could look like an ID.
    let head = &bytes[..find(bytes, &[0x1F, 0x43, 0xB6, 0x75]).unwrap_or(bytes.len())];
    let scale = find(head, &[0x2A, 0xD7, 0xB1])
        .and_then(|i| ebml_value(head, i + 3))
        .map_or(1_000_000, |(_, v)| be(v));
    let seconds = find(head, &[0x44, 0x89]).and_then(|i| {
        let (len, v) = ebml_value(head, i + 2)?;
        let ticks = match len {
            4 => f32::from_be_bytes(v.try_into().ok()?) as f64,
            8 => f64::from_be_bytes(v.try_into().ok()?),
            _ => return None,
        };
        Some(ticks * scale as f64 / 1e9)
    });
    // The Video element (0xE0) whose children parse cleanly and state both sides.
    let size = (0..head.len())
        .filter(|&i| head[i] == 0xE0)
        .find_map(|i| video_size(ebml_value(head, i + 1)?.1));
    let audio_channels = (0..head.len())
        .filter(|&i| head[i] == 0xE1)
        .find_map(|i| audio_channels(ebml_value(head, i + 1)?.1));
    VideoInfo {
        seconds,
        size,
        audio_channels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-made headers: an MP4's mvhd (v0, 1000 ticks/s, 2500 ticks) and tkhd (320x240 in
    /// 16.16), a WebM's TimecodeScale (1 ms), Duration (f64 1500.0) and PixelWidth/Height.
    #[test]
    fn containers_state_their_duration_and_size() {
        let mut mp4 = vec![0, 0, 0, 16];
        mp4.extend_from_slice(b"ftypisom\0\0\0\0");
        mp4.extend_from_slice(b"\0\0\0\x6cmvhd\0\0\0\0");
        mp4.extend_from_slice(&[0; 8]);
        mp4.extend_from_slice(&1000u32.to_be_bytes());
        mp4.extend_from_slice(&2500u32.to_be_bytes());
        mp4.extend_from_slice(b"\0\0\0\x5ctkhd\0\0\0\0");
        mp4.extend_from_slice(&[0; 72]);
        mp4.extend_from_slice(&(320u32 << 16).to_be_bytes());
        mp4.extend_from_slice(&(240u32 << 16).to_be_bytes());
        assert_eq!(
            info(&mp4),
            Some(VideoInfo {
                seconds: Some(2.5),
                size: Some((320, 240)),
                audio_channels: None,
            })
        );
        let mut webm = vec![0x1A, 0x45, 0xDF, 0xA3, 0x80];
        webm.extend_from_slice(&[0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40]);
        webm.extend_from_slice(&[0x44, 0x89, 0x88]);
        webm.extend_from_slice(&1500.0f64.to_be_bytes());
        webm.extend_from_slice(&[0xE0, 0x87, 0xB0, 0x82, 0x01, 0x40, 0xBA, 0x81, 0xF0]);
        webm.extend_from_slice(&[0x1F, 0x43, 0xB6, 0x75, 0x44, 0x89, 0x84, 0, 0, 0, 0]);
        assert_eq!(
            info(&webm),
            Some(VideoInfo {
                seconds: Some(1.5),
                size: Some((320, 240)),
                audio_channels: None,
            })
        );
        assert_eq!(info(b"RIFF....WAVE"), None);
    }

    /// An ISO BMFF box: size, type, content.
    fn mp4_box(name: &[u8], content: &[u8]) -> Vec<u8> {
        let mut b = ((8 + content.len()) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(name);
        b.extend_from_slice(content);
        b
    }

    /// A trak whose hdlr is `handler` and whose first sample entry states `channels`.
    fn trak(handler: &[u8], channels: u16) -> Vec<u8> {
        let hdlr = mp4_box(b"hdlr", &[&[0u8; 8][..], handler, &[0; 12]].concat());
        let mut entry = vec![0u8; 16];
        entry.extend_from_slice(&channels.to_be_bytes());
        entry.extend_from_slice(&[0; 10]);
        let stsd = mp4_box(
            b"stsd",
            &[&[0, 0, 0, 0, 0, 0, 0, 1][..], &mp4_box(b"Opus", &entry)].concat(),
        );
        let minf = mp4_box(b"minf", &mp4_box(b"stbl", &stsd));
        mp4_box(b"trak", &mp4_box(b"mdia", &[hdlr, minf].concat()))
    }

    /// Hand-made headers: an MP4 whose second trak is a 2-channel `soun` track (a `vide` track
    /// alone is no audio), a WebM Audio element with Channels 1 and SamplingFrequency.
    #[test]
    fn an_audio_track_states_its_channels() {
        let ftyp = mp4_box(b"ftyp", b"isom\0\0\0\0");
        let video_only = [ftyp.clone(), mp4_box(b"moov", &trak(b"vide", 7))].concat();
        assert_eq!(info(&video_only).unwrap().audio_channels, None);
        let moov = mp4_box(b"moov", &[trak(b"vide", 7), trak(b"soun", 2)].concat());
        assert_eq!(info(&[ftyp, moov].concat()).unwrap().audio_channels, Some(2));
        let mut webm = vec![0x1A, 0x45, 0xDF, 0xA3, 0x80];
        webm.extend_from_slice(&[0xE1, 0x89, 0x9F, 0x81, 0x01, 0xB5, 0x84]);
        webm.extend_from_slice(&16_000f32.to_be_bytes());
        assert_eq!(info(&webm).unwrap().audio_channels, Some(1));
        let no_rate = [0x1A, 0x45, 0xDF, 0xA3, 0x80, 0xE1, 0x83, 0x9F, 0x81, 0x01];
        assert_eq!(
            info(&no_rate).unwrap().audio_channels,
            None,
            "no SamplingFrequency"
        );
    }
}
