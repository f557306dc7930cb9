//! The device side of ADB authentication, as adbd does it with `ro.adb.secure=1`: the
//! random token the phone sends in `AUTH(TOKEN)`, adb's public-key format (the
//! `AUTH(RSAPUBLICKEY)` payload and `adb_keys` lines), and the check of an
//! `AUTH(SIGNATURE)` against the keys the user accepted.
//!
//! Pure: no sockets and no phone state. `super::conn` (private) drives the exchange; the phone
//! (through `Device`) says whether a prompt is accepted and which keys it remembers.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;

use base64::Engine;
use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
use thiserror::Error;

use crate::exit::{Exit, HasExit};

/// `AUTH` arg0: the phone's challenge.
pub const AUTH_TOKEN: u32 = 1;
/// `AUTH` arg0: the host's signature of the token with one of its private keys.
pub const AUTH_SIGNATURE: u32 = 2;
/// `AUTH` arg0: the host's public key, sent once no key it has was accepted.
pub const AUTH_RSAPUBLICKEY: u32 = 3;
/// adbd's token length. adb signs it as if it were a SHA-1 digest (it is not hashed), so
/// it must be exactly a SHA-1 digest's size.
pub const TOKEN_SIZE: usize = 20;
/// Largest AUTH payload taken: protocol v1's payload limit, which adb also applies to the
/// public key it sends. Anything larger is not adb.
pub const MAX_AUTH_PAYLOAD: usize = 4096;

/// adb keys are 2048-bit RSA: the modulus is 256 bytes (64 little-endian u32 words).
const MODULUS_LEN: usize = 256;
const MODULUS_WORDS: u32 = 64;
/// adb's binary public key: modulus size in words, n0inv, modulus (LE), R² (LE), exponent.
const KEY_STRUCT_LEN: usize = 4 + 4 + MODULUS_LEN + MODULUS_LEN + 4;
/// DER DigestInfo prefix for SHA-1 in a PKCS#1 v1.5 signature (RFC 8017 §9.2, note 1).
const SHA1_DIGEST_INFO: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];

/// Why an `AUTH(RSAPUBLICKEY)` payload or an `adb_keys` line is not an adb key.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("public key is not text")]
    NotText,
    #[error("public key is not base64")]
    NotBase64,
    #[error("public key is {0} bytes, expected {KEY_STRUCT_LEN}")]
    BadLength(usize),
    #[error("public key modulus is {0} words, expected {MODULUS_WORDS}")]
    BadModulusSize(u32),
    #[error("public key is not a usable RSA key: {0}")]
    Rsa(String),
}

impl HasExit for KeyError {
    fn exit(&self) -> Exit {
        Exit::Other
    }
}

/// A host's public key as the phone keeps it.
#[derive(Debug, Clone)]
pub struct HostKey {
    line: String,
    key: RsaPublicKey,
}

impl HostKey {
    /// Parses an `AUTH(RSAPUBLICKEY)` payload or an `adb_keys` line: base64 of the 524-byte
    /// key, then optionally a space and `user@host`. adb versions differ on whether the
    /// trailing NUL is counted in the payload, so it is optional.
    pub fn parse(payload: &[u8]) -> Result<HostKey, KeyError> {
        let text = payload.strip_suffix(&[0]).unwrap_or(payload);
        let text = std::str::from_utf8(text).map_err(|_| KeyError::NotText)?;
        let line = text.trim().to_string();
        let blob = line.split_whitespace().next().unwrap_or("");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(blob)
            .map_err(|_| KeyError::NotBase64)?;
        if raw.len() != KEY_STRUCT_LEN {
            return Err(KeyError::BadLength(raw.len()));
        }
        let word = |at: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&raw[at..at + 4]);
            u32::from_le_bytes(w)
        };
        let words = word(0);
        if words != MODULUS_WORDS {
            return Err(KeyError::BadModulusSize(words));
        }
        // n0inv and R² are Montgomery helpers for the phone's old verifier; like adbd
        // today, only the modulus and the exponent matter.
        let n = BigUint::from_bytes_le(&raw[8..8 + MODULUS_LEN]);
        let e = BigUint::from(word(KEY_STRUCT_LEN - 4));
        let key = RsaPublicKey::new(n, e).map_err(|e| KeyError::Rsa(e.to_string()))?;
        Ok(HostKey { line, key })
    }

    /// The `adb_keys` line for this key (`BASE64 user@host`).
    pub fn line(&self) -> &str {
        &self.line
    }

    /// Whether `signature` is this key's PKCS#1 v1.5 signature of `token` taken as a
    /// SHA-1 digest (what adb's `RSA_sign(NID_sha1, token, …)` produces).
    pub fn verify(&self, token: &[u8], signature: &[u8]) -> bool {
        if token.len() != TOKEN_SIZE {
            return false;
        }
        let mut digest_info = SHA1_DIGEST_INFO.to_vec();
        digest_info.extend_from_slice(token);
        self.key
            .verify(Pkcs1v15Sign::new_unprefixed(), &digest_info, signature)
            .is_ok()
    }
}

/// Whether any of the accepted `adb_keys` lines signed `token`; unparsable lines are
/// skipped, as adbd skips them.
pub fn signed_by_any(keys: &[String], token: &[u8], signature: &[u8]) -> bool {
    keys.iter()
        .filter_map(|k| HostKey::parse(k.as_bytes()).ok())
        .any(|k| k.verify(token, signature))
}

/// A fresh challenge: random bytes from the kernel, or, should that fail, bytes from the
/// standard library's randomly keyed hasher (a simulator needs unpredictable, not
/// cryptographically strong, tokens).
pub fn new_token() -> [u8; TOKEN_SIZE] {
    let mut token = [0u8; TOKEN_SIZE];
    let from_kernel =
        std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut token));
    if from_kernel.is_err() {
        for (i, chunk) in token.chunks_mut(8).enumerate() {
            let mut h = RandomState::new().build_hasher();
            h.write_usize(i);
            let bytes = h.finish().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (key line, token, signature) from testdata/host_key.txt.
    fn vector() -> (String, Vec<u8>, Vec<u8>) {
        let text = include_str!("testdata/host_key.txt");
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        let key = lines.next().expect("key line").to_string();
        let token = hex::decode(lines.next().expect("token")).expect("token hex");
        let sig = hex::decode(lines.next().expect("signature")).expect("signature hex");
        (key, token, sig)
    }

    #[test]
    fn a_real_signature_verifies() {
        let (line, token, sig) = vector();
        let key = HostKey::parse(line.as_bytes()).expect("key parses");
        assert_eq!(key.line(), line);
        assert!(key.verify(&token, &sig));
    }

    #[test]
    fn the_payload_with_its_nul_parses_to_the_same_line() {
        let (line, _, _) = vector();
        let mut payload = line.clone().into_bytes();
        payload.push(0);
        assert_eq!(HostKey::parse(&payload).expect("parses").line(), line);
    }

    #[test]
    fn another_token_or_a_flipped_bit_does_not_verify() {
        let (line, token, sig) = vector();
        let key = HostKey::parse(line.as_bytes()).expect("key parses");
        let mut other = token.clone();
        other[0] ^= 1;
        assert!(!key.verify(&other, &sig));
        let mut bad = sig.clone();
        bad[100] ^= 0x40;
        assert!(!key.verify(&token, &bad));
        assert!(!key.verify(&token, &sig[..sig.len() - 1]));
        assert!(!key.verify(&token, &[]));
        assert!(!key.verify(&token[..19], &sig));
    }

    #[test]
    fn signed_by_any_skips_garbage_lines() {
        let (line, token, sig) = vector();
        let keys = vec!["garbage".to_string(), String::new(), line];
        assert!(signed_by_any(&keys, &token, &sig));
        assert!(!signed_by_any(&keys[..2], &token, &sig));
    }

    #[test]
    fn malformed_keys_are_errors_not_panics() {
        assert_eq!(HostKey::parse(b"").unwrap_err(), KeyError::BadLength(0));
        assert_eq!(
            HostKey::parse(b"!!!! x@y").unwrap_err(),
            KeyError::NotBase64
        );
        assert_eq!(
            HostKey::parse(&[0xff, 0xfe, 0]).unwrap_err(),
            KeyError::NotText
        );
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 100]);
        assert_eq!(
            HostKey::parse(short.as_bytes()).unwrap_err(),
            KeyError::BadLength(100)
        );
        let mut raw = vec![0u8; KEY_STRUCT_LEN];
        raw[0] = 32;
        let wrong_size = base64::engine::general_purpose::STANDARD.encode(&raw);
        assert_eq!(
            HostKey::parse(wrong_size.as_bytes()).unwrap_err(),
            KeyError::BadModulusSize(32)
        );
        raw[0] = 64;
        let zero_key = base64::engine::general_purpose::STANDARD.encode(&raw);
        assert!(matches!(
            HostKey::parse(zero_key.as_bytes()),
            Err(KeyError::Rsa(_))
        ));
    }

    #[test]
    fn tokens_are_fresh() {
        assert_ne!(new_token(), new_token());
    }
}
