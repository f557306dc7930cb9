//! ADB transport packets as they travel on the wire (FACTS.md §2): a 24-byte header of six
//! u32 LE — command, arg0, arg1, data length, data checksum, magic — then the data.
//!
//! Pure framing: no sockets, no streams, no services. The decoder takes bytes in whatever
//! pieces TCP delivers them and yields whole packets, so it is tested on split and joined
//! byte streams without a connection.

use thiserror::Error;

use crate::exit::{Exit, HasExit};

pub const A_CNXN: u32 = 0x4e58_4e43;
pub const A_AUTH: u32 = 0x4854_5541;
pub const A_OPEN: u32 = 0x4e45_504f;
pub const A_OKAY: u32 = 0x5941_4b4f;
pub const A_CLSE: u32 = 0x4553_4c43;
pub const A_WRTE: u32 = 0x4554_5257;

/// Protocol version adbd has sent since Android 9: "checksums may be skipped".
pub const A_VERSION: u32 = 0x0100_0001;
/// Largest payload either side may send after the handshake.
pub const MAX_PAYLOAD: usize = 1024 * 1024;
pub const HEADER_LEN: usize = 24;

/// One transport packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub command: u32,
    pub arg0: u32,
    pub arg1: u32,
    pub data: Vec<u8>,
}

impl Packet {
    pub fn new(command: u32, arg0: u32, arg1: u32, data: Vec<u8>) -> Packet {
        Packet {
            command,
            arg0,
            arg1,
            data,
        }
    }

    /// The header that goes before `data` on the wire. The checksum is always correct
    /// because some clients (PyPI adb-shell) verify it even though adb 29 does not.
    pub fn header(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        let len = u32::try_from(self.data.len()).unwrap_or(u32::MAX);
        let fields = [
            self.command,
            self.arg0,
            self.arg1,
            len,
            checksum(&self.data),
            self.command ^ 0xffff_ffff,
        ];
        for (slot, v) in h.chunks_exact_mut(4).zip(fields) {
            slot.copy_from_slice(&v.to_le_bytes());
        }
        h
    }

    /// Header and data in one buffer (tests and small packets).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.data.len());
        out.extend_from_slice(&self.header());
        out.extend_from_slice(&self.data);
        out
    }
}

/// The byte sum adb calls a checksum. Payloads are at most 1 MiB, so a u32 cannot
/// overflow; wrapping keeps hostile sizes harmless anyway.
pub fn checksum(data: &[u8]) -> u32 {
    data.iter()
        .fold(0u32, |acc, &b| acc.wrapping_add(u32::from(b)))
}

/// What makes a byte stream not an ADB transport; the connection is closed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PacketError {
    #[error("bad magic {magic:#010x} for command {command:#010x}")]
    BadMagic { command: u32, magic: u32 },
    #[error("payload of {len} bytes exceeds the maximum of {max}")]
    TooLong { len: u32, max: usize },
}

impl HasExit for PacketError {
    fn exit(&self) -> Exit {
        Exit::Other
    }
}

/// Incremental decoder: feed bytes as they arrive, take packets as they complete.
/// The checksum field is read but never required (adb 29 sends 0).
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed; compacted lazily so a 1 MiB payload arriving in
    /// 64 KiB reads is not shifted sixteen times.
    start: usize,
    max_payload: usize,
}

impl Decoder {
    pub fn new(max_payload: usize) -> Decoder {
        Decoder {
            buf: Vec::with_capacity(64 * 1024),
            start: 0,
            max_payload,
        }
    }

    /// Appends bytes read from the socket.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 && (self.start == self.buf.len() || self.start >= self.buf.len() / 2) {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete packet, `Ok(None)` when more bytes are needed.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, PacketError> {
        let avail = &self.buf[self.start..];
        if avail.len() < HEADER_LEN {
            return Ok(None);
        }
        let field = |i: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&avail[i * 4..i * 4 + 4]);
            u32::from_le_bytes(w)
        };
        let (command, arg0, arg1, len, magic) = (field(0), field(1), field(2), field(3), field(5));
        if magic != command ^ 0xffff_ffff {
            return Err(PacketError::BadMagic { command, magic });
        }
        let n = len as usize;
        if n > self.max_payload {
            return Err(PacketError::TooLong {
                len,
                max: self.max_payload,
            });
        }
        if avail.len() < HEADER_LEN + n {
            return Ok(None);
        }
        let data = avail[HEADER_LEN..HEADER_LEN + n].to_vec();
        self.start += HEADER_LEN + n;
        Ok(Some(Packet::new(command, arg0, arg1, data)))
    }
}

/// A printable name for a command word, for log lines about hostile peers.
pub fn command_name(command: u32) -> String {
    let b = command.to_le_bytes();
    if b.iter().all(|c| c.is_ascii_alphanumeric()) {
        String::from_utf8_lossy(&b).into_owned()
    } else {
        format!("{command:#010x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Packet> {
        vec![
            Packet::new(
                A_CNXN,
                A_VERSION,
                0x4_0000,
                b"host::features=shell_v2\0".to_vec(),
            ),
            Packet::new(A_OPEN, 7, 0, b"shell,v2,raw:echo hi\0".to_vec()),
            Packet::new(A_OKAY, 1, 7, Vec::new()),
            Packet::new(A_WRTE, 7, 1, (0..=255u8).cycle().take(70_000).collect()),
            Packet::new(A_CLSE, 7, 1, Vec::new()),
        ]
    }

    fn decode_all(d: &mut Decoder) -> Vec<Packet> {
        let mut out = Vec::new();
        while let Some(p) = d.next_packet().expect("valid stream") {
            out.push(p);
        }
        out
    }

    #[test]
    fn header_is_six_le_words_with_magic_and_byte_sum() {
        let p = Packet::new(A_WRTE, 1, 2, vec![1, 2, 250]);
        let h = p.header();
        assert_eq!(&h[0..4], b"WRTE");
        assert_eq!(u32::from_le_bytes(h[12..16].try_into().unwrap()), 3);
        assert_eq!(u32::from_le_bytes(h[16..20].try_into().unwrap()), 253);
        assert_eq!(
            u32::from_le_bytes(h[20..24].try_into().unwrap()),
            A_WRTE ^ 0xffff_ffff
        );
    }

    #[test]
    fn joined_stream_yields_every_packet() {
        let wire: Vec<u8> = sample().iter().flat_map(Packet::encode).collect();
        let mut d = Decoder::new(MAX_PAYLOAD);
        d.feed(&wire);
        assert_eq!(decode_all(&mut d), sample());
    }

    #[test]
    fn stream_split_at_every_size_yields_the_same_packets() {
        let wire: Vec<u8> = sample().iter().flat_map(Packet::encode).collect();
        for piece in [1, 3, 23, 24, 25, 4096, 65_536] {
            let mut d = Decoder::new(MAX_PAYLOAD);
            let mut got = Vec::new();
            for chunk in wire.chunks(piece) {
                d.feed(chunk);
                got.extend(decode_all(&mut d));
            }
            assert_eq!(got, sample(), "piece size {piece}");
        }
    }

    #[test]
    fn zero_checksum_is_accepted() {
        let mut wire = Packet::new(A_OPEN, 1, 0, b"sync:\0".to_vec()).encode();
        wire[16..20].copy_from_slice(&[0; 4]);
        let mut d = Decoder::new(MAX_PAYLOAD);
        d.feed(&wire);
        assert_eq!(d.next_packet().unwrap().unwrap().data, b"sync:\0");
    }

    #[test]
    fn bad_magic_is_an_error() {
        let mut wire = Packet::new(A_OPEN, 1, 0, Vec::new()).encode();
        wire[20] ^= 1;
        let mut d = Decoder::new(MAX_PAYLOAD);
        d.feed(&wire);
        assert!(matches!(d.next_packet(), Err(PacketError::BadMagic { .. })));
    }

    #[test]
    fn garbage_is_an_error_not_a_wait() {
        let mut d = Decoder::new(MAX_PAYLOAD);
        d.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(d.next_packet().is_err());
    }

    #[test]
    fn absurd_length_is_refused_before_its_data_arrives() {
        let mut h = Packet::new(A_WRTE, 1, 1, Vec::new()).header();
        h[12..16].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        let mut d = Decoder::new(MAX_PAYLOAD);
        d.feed(&h);
        assert!(matches!(d.next_packet(), Err(PacketError::TooLong { .. })));
    }

    #[test]
    fn truncated_packet_waits_for_more() {
        let wire = Packet::new(A_WRTE, 1, 1, vec![9; 100]).encode();
        let mut d = Decoder::new(MAX_PAYLOAD);
        d.feed(&wire[..wire.len() - 1]);
        assert_eq!(d.next_packet(), Ok(None));
        d.feed(&wire[wire.len() - 1..]);
        assert_eq!(d.next_packet().unwrap().unwrap().data, vec![9; 100]);
    }

    #[test]
    fn command_names_are_printable() {
        assert_eq!(command_name(A_CLSE), "CLSE");
        assert_eq!(command_name(0x0000_0001), "0x00000001");
    }
}
