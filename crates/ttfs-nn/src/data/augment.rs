//! Training-time augmentation of stored samples: random translation (a crop of the
//! zero-padded image for CIFAR, a spatial shift of every frame for event data), horizontal
//! flip and cutout (a zeroed square, DeVries & Taylor 2017). Deterministic: every random number
//! comes from the caller's [`Rng`], drawn in a fixed order per sample (flip, then dy, then dx,
//! then the cutout centre), each only when its option is on, so turning cutout on leaves the
//! draws of the other options unchanged.

use crate::rng::Rng;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Augment {
    /// Mirror left-right with probability 1/2.
    pub flip: bool,
    /// Translate by up to this many pixels in each direction, filling with zeros. For images
    /// this is the classic "pad by `p`, crop back at a random offset".
    pub translate: usize,
    /// Zero a `cutout` x `cutout` square centred on a uniformly drawn pixel (clipped at the
    /// borders, so it can cover less), after flip and translation; 0: off.
    pub cutout: usize,
    /// Mirror every sample left-right, drawing nothing: the second view of a test-time flip
    /// (`ttfs eval --flip`). Not a training augmentation.
    pub mirror: bool,
}

impl Augment {
    pub fn is_active(&self) -> bool {
        self.flip || self.translate > 0 || self.cutout > 0 || self.mirror
    }

    /// Every sample mirrored left-right, nothing drawn: the second view of a test-time flip.
    pub fn mirror() -> Self {
        Augment {
            mirror: true,
            ..Default::default()
        }
    }

    /// Write the augmented `sample` (`[steps, C, H, W]` with `[C, H, W] = frame`) into `out`
    /// (same shape). The same flip and offset apply to all channels and frames.
    pub fn apply(&self, sample: &[u8], frame: [usize; 3], rng: &mut Rng, out: &mut [u8]) {
        self.draw(frame, rng).apply(sample, frame, out)
    }

    /// Draw one sample's flip, offset and cutout (the random half of [`Augment::apply`]).
    pub fn draw(&self, frame: [usize; 3], rng: &mut Rng) -> Placement {
        let [_, h, w] = frame;
        let flip = self.mirror || (self.flip && rng.below(2) == 1);
        let p = self.translate as isize;
        let (dy, dx) = if p > 0 {
            let span = 2 * self.translate + 1;
            (rng.below(span) as isize - p, rng.below(span) as isize - p)
        } else {
            (0, 0)
        };
        // The cutout's rows and columns, [y0, y1) x [x0, x1) (empty when off).
        let (ys, xs) = if self.cutout > 0 {
            let k = self.cutout as isize;
            let span = |c: usize, n: usize| {
                let start = c as isize - k / 2;
                start.max(0) as usize..(start + k).clamp(0, n as isize) as usize
            };
            let (cy, cx) = (rng.below(h), rng.below(w));
            (span(cy, h), span(cx, w))
        } else {
            (0..0, 0..0)
        };
        Placement {
            flip,
            dy,
            dx,
            cut_y: ys,
            cut_x: xs,
        }
    }
}

/// Where one augmented sample's pixels come from: mirrored or not, shifted by `(dy, dx)` with
/// zeros outside, and the rows `cut_y` by columns `cut_x` zeroed (cutout). Drawn on the host,
/// applied there or, for a data set kept on a GPU, by the gather kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    pub flip: bool,
    pub dy: isize,
    pub dx: isize,
    pub cut_y: std::ops::Range<usize>,
    pub cut_x: std::ops::Range<usize>,
}

impl Placement {
    /// `out[y][x] = in[y + dy][x' + dx]` with `x' = x`, or `w - 1 - x` when flipped; zero
    /// outside the input and inside the cutout. `sample` and `out` are `[steps, C, H, W]`.
    pub fn apply(&self, sample: &[u8], frame: [usize; 3], out: &mut [u8]) {
        let [_, h, w] = frame;
        let (flip, dy, dx) = (self.flip, self.dy, self.dx);
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
            for y in self.cut_y.clone() {
                dst[y * w + self.cut_x.start..y * w + self.cut_x.end].fill(0);
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
            cutout: 0,
            mirror: false,
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
    fn mirror_flips_every_sample_and_draws_nothing() {
        let s: Vec<u8> = (1..=12).collect(); // [1 step, 2 ch, 2 rows, 3 cols]
        let mut out = vec![0; 12];
        let mut rng = Rng::new(7);
        let before = rng.state;
        for _ in 0..5 {
            Augment::mirror().apply(&s, [2, 2, 3], &mut rng, &mut out);
            assert_eq!(out, vec![3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10]);
        }
        assert_eq!(rng.state, before);
    }

    #[test]
    fn translation_moves_content_and_fills_zeros_deterministically() {
        let s: Vec<u8> = (1..=16).collect(); // one 4x4 channel
        let a = Augment {
            flip: false,
            translate: 2,
            cutout: 0,
            mirror: false,
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

    #[test]
    fn cutout_zeroes_one_clipped_square_in_every_channel() {
        // 2 frames x 2 channels of 8x8 all-ones: every zero is the cutout.
        let s = vec![1u8; 2 * 2 * 64];
        let a = Augment {
            flip: false,
            translate: 0,
            cutout: 4,
            mirror: false,
        };
        let mut sizes = std::collections::HashSet::new();
        for seed in 0..300 {
            let mut out = vec![0; s.len()];
            a.apply(&s, [2, 8, 8], &mut Rng::new(seed), &mut out);
            let plane: Vec<usize> = (0..64).filter(|&i| out[i] == 0).collect();
            // The same square in every channel and frame.
            for c in 1..4 {
                let other: Vec<usize> = (0..64).filter(|&i| out[c * 64 + i] == 0).collect();
                assert_eq!(other, plane);
            }
            // A full rectangle of at most 4 x 4, at least 2 x 2 (the centre is inside).
            let (ys, xs): (Vec<usize>, Vec<usize>) = plane.iter().map(|&i| (i / 8, i % 8)).unzip();
            let (h, w) = (
                ys.iter().max().unwrap() - ys.iter().min().unwrap() + 1,
                xs.iter().max().unwrap() - xs.iter().min().unwrap() + 1,
            );
            assert_eq!(plane.len(), h * w);
            assert!((2..=4).contains(&h) && (2..=4).contains(&w), "{h} x {w}");
            sizes.insert(plane.len());
        }
        assert!(sizes.contains(&16) && sizes.contains(&4), "{sizes:?}");
    }
}
