//! The shapes a convolution or a pooling window is run on, and the sizes derived from them
//! that every backend indexes its buffers with.

/// Geometry of a 2-D convolution over `[C, H, W]` frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub in_c: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub out_c: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl ConvGeom {
    pub fn out_h(&self) -> usize {
        (self.in_h + 2 * self.pad - self.k) / self.stride + 1
    }
    pub fn out_w(&self) -> usize {
        (self.in_w + 2 * self.pad - self.k) / self.stride + 1
    }
    /// Rows of the im2col matrix: one per weight of an output channel.
    pub fn patch_len(&self) -> usize {
        self.in_c * self.k * self.k
    }
    /// `(patch_len, out_h * out_w, in_len, out_len, out_c)`: the sizes a convolution kernel
    /// indexes its matrices with.
    pub fn sizes(&self) -> (usize, usize, usize, usize, usize) {
        let p = self.out_h() * self.out_w();
        (
            self.patch_len(),
            p,
            self.in_len(),
            self.out_len(),
            self.out_c,
        )
    }
    pub fn in_len(&self) -> usize {
        self.in_c * self.in_h * self.in_w
    }
    pub fn out_len(&self) -> usize {
        self.out_c * self.out_h() * self.out_w()
    }
}

/// Geometry of a 2-D pooling window (no padding; trailing rows/columns that do not fill a
/// window are dropped, as in PyTorch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeom {
    pub c: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub k: usize,
    pub stride: usize,
}

impl PoolGeom {
    pub fn out_h(&self) -> usize {
        (self.in_h - self.k) / self.stride + 1
    }
    pub fn out_w(&self) -> usize {
        (self.in_w - self.k) / self.stride + 1
    }
    pub fn in_len(&self) -> usize {
        self.c * self.in_h * self.in_w
    }
    pub fn out_len(&self) -> usize {
        self.c * self.out_h() * self.out_w()
    }
}
