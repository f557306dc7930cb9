//! A minimal PNG writer for `screencap -p`: a small solid image whose colour is derived
//! from the screen's name, with the name in a tEXt chunk, compressed with zlib "stored"
//! blocks (valid for every decoder, no deflate needed). Knows nothing about screens.

const WIDTH: u32 = 108;
const HEIGHT: u32 = 240;

/// A solid WIDTH×HEIGHT RGB PNG (a tenth of the real 1080×2400) titled NAME.
pub fn solid(name: &str) -> Vec<u8> {
    let h = name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let rgb = [(h >> 16) as u8, (h >> 8) as u8, h as u8];
    // Each scanline: filter byte 0 (none), then the pixels.
    let mut line = vec![0u8];
    line.extend(rgb.iter().copied().cycle().take((WIDTH * 3) as usize));
    let raw = line.repeat(HEIGHT as usize);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&WIDTH.to_be_bytes());
    ihdr.extend_from_slice(&HEIGHT.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, no filter, no interlace
    chunk(&mut png, b"IHDR", &ihdr);
    let mut text = b"Title\0".to_vec();
    // tEXt is Latin-1; screen names are ASCII.
    text.extend(name.bytes().filter(u8::is_ascii));
    chunk(&mut png, b"tEXt", &text);
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(0xffff).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_header_match_known_values() {
        // CRC-32 check value from the PNG specification's algorithm.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        let png = solid("home");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
        assert_ne!(solid("home"), solid("mi_account"));
    }
}
