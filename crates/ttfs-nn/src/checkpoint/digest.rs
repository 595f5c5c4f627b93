//! The checksums of checkpoint files: what proves that a file holds the bytes its writer wrote.
//!
//! Format 3 (`ttfs-checkpoint-3`) hashes with XXH3-128 (the `xxhash-rust` crate). Why XXH3 and
//! not a hand-written sum: the format-2 checksum mixed 64-bit words with FNV-1a, where a flip
//! of bit 63 of a word changes only bit 63 of the state, so two sign-bit flips cancel (a digits
//! checkpoint with the sign of every odd f32 of a tensor flipped loaded without a word). XXH3
//! is a maintained, widely used hash that passes SMHasher's avalanche and collision tests:
//! every input bit affects every output bit, so structured damage (pairs of flips, swapped or
//! zeroed blocks) is caught like random damage, with a false-accept chance of 2^-128. Why not a
//! cryptographic hash (BLAKE3, SHA-256): the checksum guards against damage, not against an
//! attacker (who could recompute any unkeyed hash, cryptographic or not), and XXH3 is a small
//! pure-Rust crate without dependencies that hashes tens of GB/s.
//!
//! Formats 1 and 2 are still read, verified with their own FNV sum ([`legacy_fnv`]): files of
//! earlier runs stay usable, and the next checkpoint such a run writes is of format 3.

use std::collections::BTreeMap;
use xxhash_rust::xxh3::Xxh3;

/// A tensor as stored: name, shape, little-endian f32 bytes.
pub type RawTensor = (String, Vec<usize>, Vec<u8>);

/// Prefix of a format-3 checksum value (the algorithm is named in the file itself).
pub const XXH3_PREFIX: &str = "xxh3-128:";

/// The format-3 checksum: XXH3-128 over every metadata key and value (in key order) and every
/// tensor's name, dtype, shape and bytes (in name order). Each item is preceded by its length
/// and each list by its count, so that no two different contents give the same input stream
/// (moving a byte from one value to the next changes a length).
pub fn xxh3(meta: &BTreeMap<String, String>, tensors: &[RawTensor]) -> String {
    let mut h = Xxh3::new();
    let mut item = |b: &[u8]| {
        h.update(&(b.len() as u64).to_le_bytes());
        h.update(b);
    };
    item(&(meta.len() as u64).to_le_bytes());
    for (k, v) in meta {
        item(k.as_bytes());
        item(v.as_bytes());
    }
    item(&(tensors.len() as u64).to_le_bytes());
    for (n, s, d) in tensors {
        item(n.as_bytes());
        item(b"F32");
        let shape: Vec<u8> = s.iter().flat_map(|&x| (x as u64).to_le_bytes()).collect();
        item(&shape);
        item(d);
    }
    format!("{XXH3_PREFIX}{:032x}", h.digest128())
}

/// The checksum of formats 1 and 2, kept to read their files: FNV-1a over the metadata (every
/// key and value, in key order, each preceded by its length; `None` for format 1, whose
/// checksum covers the tensors only), then over 64-bit words of every tensor's name, shape and
/// bytes (in name order). It catches any single changed word but not pairs of sign-bit flips.
pub fn legacy_fnv(meta: Option<&BTreeMap<String, String>>, tensors: &[RawTensor]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |w: u64| {
        h ^= w;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    for (k, v) in meta.into_iter().flatten() {
        for text in [k, v] {
            eat(text.len() as u64);
            for b in text.bytes() {
                eat(b as u64);
            }
        }
    }
    for (n, s, d) in tensors {
        for b in n.bytes() {
            eat(b as u64);
        }
        for &x in s {
            eat(x as u64);
        }
        let mut it = d.chunks_exact(8);
        for c in &mut it {
            eat(u64::from_le_bytes(c.try_into().unwrap()));
        }
        for &b in it.remainder() {
            eat(b as u64);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensors(data: Vec<u8>) -> Vec<RawTensor> {
        vec![("w".into(), vec![data.len() / 4], data)]
    }

    /// The weakness that retired the FNV sum, and that XXH3 does not share.
    #[test]
    fn two_sign_bit_flips_cancel_in_fnv_but_not_in_xxh3() {
        let good: Vec<u8> = (0..64u32).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let mut bad = good.clone();
        // The top byte of the 2nd and 4th f32: bit 63 of the first two 64-bit words.
        bad[7] ^= 0x80;
        bad[15] ^= 0x80;
        let meta = BTreeMap::new();
        assert_eq!(
            legacy_fnv(Some(&meta), &tensors(good.clone())),
            legacy_fnv(Some(&meta), &tensors(bad.clone()))
        );
        assert_ne!(xxh3(&meta, &tensors(good)), xxh3(&meta, &tensors(bad)));
    }

    #[test]
    fn moving_a_byte_between_metadata_values_changes_the_sum() {
        let m = |a: &str, b: &str| {
            BTreeMap::from([("a".to_string(), a.into()), ("b".into(), b.into())])
        };
        assert_ne!(xxh3(&m("12", "3"), &[]), xxh3(&m("1", "23"), &[]));
    }
}
