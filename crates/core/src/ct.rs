//! Comparing secrets (tokens, team secrets) without telling an attacker anything by timing.
//!
//! `subtle`'s `ct_eq` on byte slices returns at once when the lengths differ, so a caller
//! guessing a token learns its length. Here both sides are hashed first (SHA-256: fixed-size
//! digests), and the digests are compared in constant time: the time depends on the length of
//! the caller's own input only, never on the secret's.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 of `bytes`: what secrets are kept and compared as (a stored token's digest,
/// a session's key).
pub fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Whether `given` equals `secret`, in time independent of `secret`'s length and content.
pub fn secret_eq(given: &[u8], secret: &[u8]) -> bool {
    digest(given).ct_eq(&digest(secret)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_only_when_equal() {
        assert!(secret_eq(b"s3cret-token", b"s3cret-token"));
        assert!(!secret_eq(b"s3cret-toke", b"s3cret-token"));
        assert!(!secret_eq(b"s3cret-token-and-more", b"s3cret-token"));
        assert!(!secret_eq(b"", b"s3cret-token"));
        assert!(secret_eq(b"", b""));
        assert!(!secret_eq(b"S3cret-token", b"s3cret-token"));
    }
}
