//! Copies into memory that will not be read again soon, with non-temporal stores.
//!
//! A plain store first reads the destination's cache line into the cache (the write
//! allocation) and later writes it back: twice the memory traffic of the data. A layer's
//! `[T, B, n]` output written one step row at a time is far larger than the caches and is
//! read only by the next layer, after the whole array is written, so streaming it past the
//! caches halves the traffic. Used where that measured faster (docs/results/cpu-speed.md, "Faster pooling, streamed spikes"): the
//! constant-current neuron's spikes, several step rows per task far apart; outputs written as
//! one contiguous stretch per task measured no gain or a loss.

/// Arrays of at least this many bytes are streamed: larger than this machine's 32 MB L3, so
/// that the next layer would find little of a plainly stored one in cache either.
/// `cargo run --release --example neuron_kernels -- UNITS 8` (the constant-current forward,
/// its `[8, UNITS]` spikes streamed or not): 12.8 MB 0.35-0.40 ms plain against 0.39-0.43
/// streamed; 38.5 MB 2.4-3.0 against 1.2-1.7 ms; 77 MB 5.05 against 2.6-2.9 ms.
pub const MIN_BYTES: usize = 32 << 20;

/// Whether an output of `floats` values is streamed.
pub fn worth(floats: usize) -> bool {
    floats * std::mem::size_of::<f32>() >= MIN_BYTES
}

/// `dst[..src.len()] = src`: streamed when `streamed` (where `dst` is 64-byte aligned; the
/// ends plain), else plain stores.
///
/// # Safety
/// `dst` must be valid for `src.len()` writes that no other thread touches meanwhile; after
/// streamed copies the caller runs [`fence`] before another thread reads them.
#[inline]
pub unsafe fn copy(src: &[f32], dst: *mut f32, streamed: bool) {
    // Without AVX-512 every copy is plain.
    let _ = streamed;
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    if streamed {
        use std::arch::x86_64::*;
        let n = src.len();
        // Elements before the first 64-byte boundary, then whole 16-float vectors.
        let head = ((64 - (dst as usize % 64)) % 64 / 4).min(n);
        if (dst as usize).is_multiple_of(4) {
            std::ptr::copy_nonoverlapping(src.as_ptr(), dst, head);
            let mut i = head;
            while i + 16 <= n {
                _mm512_stream_ps(dst.add(i), _mm512_loadu_ps(src.as_ptr().add(i)));
                i += 16;
            }
            std::ptr::copy_nonoverlapping(src.as_ptr().add(i), dst.add(i), n - i);
            return;
        }
    }
    std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len());
}

/// Orders the streamed stores of this thread before its later stores (and so before the
/// parallel region's end, which other threads wait on).
#[inline]
pub fn fence() {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}

#[cfg(test)]
mod tests {
    /// Streamed copies land exactly, whatever the destination's alignment and the length
    /// (heads and tails shorter than a vector included).
    #[test]
    fn streamed_copy_is_a_copy() {
        let src: Vec<f32> = (0..300).map(|i| i as f32 * 0.5 - 7.0).collect();
        for offset in 0..17 {
            for len in [0, 1, 15, 16, 17, 100, 283] {
                let mut dst = vec![f32::NAN; 320];
                unsafe { super::copy(&src[..len], dst.as_mut_ptr().add(offset), true) };
                super::fence();
                assert_eq!(
                    &dst[offset..offset + len],
                    &src[..len],
                    "offset {offset} len {len}"
                );
                assert!(dst[..offset].iter().all(|v| v.is_nan()), "before the copy");
                assert!(
                    dst[offset + len..].iter().all(|v| v.is_nan()),
                    "after the copy"
                );
            }
        }
    }
}
