//! Spike events: the nonzeros of a mostly-zero `[rows, cols]` matrix, row by row.
//!
//! A TTFS layer's input holds at most one spike per unit over T steps, so it is at least
//! `1 - 1/T` zeros. Layers collect its events once (forward), keep them for backward, and run
//! their products over the events only ([`super::Kernels::gemm_events`]): about one dense
//! product's work per sample instead of T.

/// Compressed rows: row `r`'s events are `entries[start[r]..start[r + 1]]`, each `(column,
/// value)` with columns ascending.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Events {
    pub rows: usize,
    pub cols: usize,
    pub start: Vec<usize>,
    pub entries: Vec<(u32, f32)>,
}

impl Events {
    pub fn row(&self, r: usize) -> &[(u32, f32)] {
        &self.entries[self.start[r]..self.start[r + 1]]
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Fraction of the matrix's values that are events.
    pub fn density(&self) -> f32 {
        self.len() as f32 / (self.rows * self.cols).max(1) as f32
    }

    /// The dense matrix (tests and debugging).
    pub fn to_dense(&self) -> Vec<f32> {
        let mut x = vec![0.0; self.rows * self.cols];
        for r in 0..self.rows {
            for &(c, v) in self.row(r) {
                x[r * self.cols + c as usize] = v;
            }
        }
        x
    }
}
