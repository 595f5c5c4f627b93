//! Training-time augmentation of stored samples: random translation (a crop of the
//! zero-padded image for CIFAR, a spatial shift of every frame for event data) and horizontal
//! flip. Deterministic: every random number comes from the caller's [`Rng`], drawn in a fixed
//! order per sample (flip, then dy, then dx).

use crate::rng::Rng;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Augment {
    /// Mirror left-right with probability 1/2.
    pub flip: bool,
    /// Translate by up to this many pixels in each direction, filling with zeros. For images
    /// this is the classic "pad by `p`, crop back at a random offset".
    pub translate: usize,
}

impl Augment {
    pub fn is_active(&self) -> bool {
        self.flip || self.translate > 0
    }

    /// Write the augmented `sample` (`[steps, C, H, W]` with `[C, H, W] = frame`) into `out`
    /// (same shape). The same flip and offset apply to all channels and frames.
    pub fn apply(&self, sample: &[u8], frame: [usize; 3], rng: &mut Rng, out: &mut [u8]) {
        let [_, h, w] = frame;
        let flip = self.flip && rng.below(2) == 1;
        let p = self.translate as isize;
        let (dy, dx) = if p > 0 {
            let span = 2 * self.translate + 1;
            (rng.below(span) as isize - p, rng.below(span) as isize - p)
        } else {
            (0, 0)
        };
        // out[y][x] = in[y + dy][x' + dx] with x' = x or w - 1 - x; zero outside the input.
        for (src, dst) in sample.chunks_exact(h * w).zip(out.chunks_exact_mut(h * w)) {
            for y in 0..h {
                let sy = y as isize + dy;
                let row = &mut dst[y * w..(y + 1) * w];
                if sy < 0 || sy >= h as isize {
                    row.fill(0);
                    continue;
                }
                let srow = &src[sy as usize * w..(sy as usize + 1) * w];
                for (x, d) in row.iter_mut().enumerate() {
                    let xf = if flip { w - 1 - x } else { x };
                    let sx = xf as isize + dx;
                    *d = if sx < 0 || sx >= w as isize {
                        0
                    } else {
                        srow[sx as usize]
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_when_off_and_flip_mirrors_rows() {
        let s: Vec<u8> = (1..=12).collect(); // [1 step, 2 ch, 2 rows, 3 cols]
        let mut out = vec![0; 12];
        let mut rng = Rng::new(1);
        Augment::default().apply(&s, [2, 2, 3], &mut rng, &mut out);
        assert_eq!(out, s);
        let a = Augment {
            flip: true,
            translate: 0,
        };
        let mut flips = 0;
        for _ in 0..20 {
            a.apply(&s, [2, 2, 3], &mut rng, &mut out);
            if out != s {
                assert_eq!(out, vec![3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10]);
                flips += 1;
            }
        }
        assert!(flips > 3 && flips < 17, "{flips}");
    }

    #[test]
    fn translation_moves_content_and_fills_zeros_deterministically() {
        let s: Vec<u8> = (1..=16).collect(); // one 4x4 channel
        let a = Augment {
            flip: false,
            translate: 2,
        };
        let mut seen = std::collections::HashSet::new();
        for seed in 0..200 {
            let mut out = vec![0; 16];
            a.apply(&s, [1, 4, 4], &mut Rng::new(seed), &mut out);
            let mut again = vec![0; 16];
            a.apply(&s, [1, 4, 4], &mut Rng::new(seed), &mut again);
            assert_eq!(out, again);
            // Every non-zero value keeps its neighbours: the content moved as a block.
            let nz: Vec<usize> = (0..16).filter(|&i| out[i] != 0).collect();
            if let Some(&i) = nz.first() {
                let shift = out[i] as isize - 1 - i as isize;
                for &j in &nz {
                    assert_eq!(out[j] as isize - 1 - j as isize, shift);
                }
            }
            seen.insert(out);
        }
        assert_eq!(seen.len(), 25); // all 5 x 5 offsets occur
    }
}
