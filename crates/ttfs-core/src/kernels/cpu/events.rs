//! Event-driven products: `c = a . op(b)` for `a` given as [`Events`].
//!
//! Organised so that the event loop runs close to the speed of a blocked dense product: `b`
//! is repacked once per call into panels of 64 columns (`[k, 64]`, contiguous, so a panel
//! spans few pages); a task owns a fixed range of `a`'s rows and, panel by panel, keeps one
//! output row's 64 values in registers while it adds the panel rows its events name (one load
//! and one multiply-add per value, no stores), then writes them once.

use super::gemm::SyncPtr;
use crate::kernels::Events;
use rayon::prelude::*;
use std::cell::RefCell;
use std::thread::LocalKey;

/// Rows per parallel task (fixed: results never depend on the thread count).
const ROWS_PER_TASK: usize = 64;
/// Columns of one register block of an output row (8 AVX registers).
const BLOCK: usize = 64;

/// Builds `out` (`[rows, cols]`) row by row, both passes in parallel over rows: `count(r)`
/// events in row r, then `fill(r, dst)` writes exactly that many into `dst`. False, with
/// `out.entries` not filled, when `accept` refuses the total count.
fn build_rows(
    out: &mut Events,
    rows: usize,
    cols: usize,
    accept: impl Fn(usize) -> bool,
    count: impl Fn(usize) -> usize + Sync,
    fill: impl Fn(usize, &mut [(u32, f32)]) + Sync,
) -> bool {
    out.rows = rows;
    out.cols = cols;
    out.start.clear();
    out.start.resize(rows + 1, 0);
    out.start[1..]
        .par_iter_mut()
        .with_min_len(16)
        .enumerate()
        .for_each(|(r, n)| *n = count(r));
    for r in 0..rows {
        out.start[r + 1] += out.start[r];
    }
    if !accept(out.start[rows]) {
        return false;
    }
    out.entries.clear();
    out.entries.resize(out.start[rows], (0, 0.0));
    let ep = SyncPtr(out.entries.as_mut_ptr());
    let start = &out.start;
    (0..rows).into_par_iter().with_min_len(16).for_each(|r| {
        // SAFETY: row r owns entries[start[r]..start[r + 1]].
        let dst = unsafe {
            std::slice::from_raw_parts_mut(ep.get().add(start[r]), start[r + 1] - start[r])
        };
        fill(r, dst);
    });
    true
}

/// The events of `x` (`[rows, cols]`, row-major) into `out` (its buffers are reused), when
/// at most `max_density` of its values are nonzero (as `sparse::density` reckons it); else
/// false, `out` unspecified. The count that decides is the parallel first pass of the
/// collection, not a serial scan before it.
pub fn collect(x: &[f32], rows: usize, cols: usize, max_density: f32, out: &mut Events) -> bool {
    assert!(x.len() >= rows * cols);
    let row = |r: usize| &x[r * cols..(r + 1) * cols];
    let count = |r: usize| super::sparse::nonzeros(row(r));
    let len = rows * cols;
    let sparse = |n: usize| len == 0 || n as f32 / len as f32 <= max_density;
    build_rows(out, rows, cols, sparse, count, |r, dst| {
        // Branch-free (a branch per value would mispredict on random spikes): every value is
        // written to the next free slot, which only a nonzero claims; once the row's slots
        // are full, the writes of its trailing zeros go to a spare slot.
        let row = row(r);
        let (base, len) = (dst.as_mut_ptr(), dst.len());
        let mut spare = (0u32, 0.0f32);
        let spare: *mut (u32, f32) = &mut spare;
        let mut at = 0;
        for (c, &v) in row.iter().enumerate() {
            // SAFETY: `at < len` is checked; dst has exactly the row's nonzeros.
            let slot = if at < len {
                unsafe { base.add(at) }
            } else {
                spare
            };
            unsafe { *slot = (c as u32, v) };
            at += (v != 0.0) as usize;
        }
        debug_assert_eq!(at, len);
    })
}

/// The events of the step-to-step changes of `x` (`[t, rows, cols]`): `d[k] = x[k] - x[k+1]`
/// and `d[t-1] = x[t-1]`, as a `[t * rows, cols]` matrix, so that `x[k]` is the sum of
/// `d[j]` over `j >= k`. Returns false, with `out` left unspecified, when more than
/// `max_density` of them are nonzero. `d` is zero exactly where a value did not change (`a - b
/// == 0` only when `a == b`).
pub fn collect_step_changes(
    x: &[f32],
    t: usize,
    rows: usize,
    cols: usize,
    max_density: f32,
    out: &mut Events,
) -> bool {
    let (frames, step) = (t * rows, rows * cols);
    assert!(x.len() >= t * step);
    // Row r of d: its step and the same row one step later (none at the last step).
    let later =
        |r: usize| (r + rows < frames).then(|| &x[(r + rows) * cols..(r + rows + 1) * cols]);
    let changed = |a: f32, b: Option<&f32>| a != b.copied().unwrap_or(0.0);
    let changes_in = |r: usize| {
        let row = &x[r * cols..(r + 1) * cols];
        match later(r) {
            Some(next) => row.iter().zip(next).filter(|(a, b)| a != b).count(),
            None => row.iter().filter(|&&a| a != 0.0).count(),
        }
    };
    // A dense gradient (a sigmoid surrogate's changes at nearly every step) is told from 32
    // rows spread over the steps, before a full count.
    let sample: Vec<usize> = (0..32.min(frames))
        .map(|i| i * frames / 32.min(frames))
        .collect();
    let sampled: usize = sample.iter().map(|&r| changes_in(r)).sum();
    if sampled as f32 > 2.0 * max_density * (sample.len() * cols) as f32 {
        return false;
    }
    let max_events = (max_density * (frames * cols) as f32) as usize;
    build_rows(
        out,
        frames,
        cols,
        |n| n <= max_events,
        changes_in,
        |r, dst| {
            let row = &x[r * cols..(r + 1) * cols];
            let next = later(r);
            let mut at = 0;
            for (c, &a) in row.iter().enumerate() {
                let b = next.map(|n| &n[c]);
                if changed(a, b) {
                    dst[at] = (c as u32, a - b.copied().unwrap_or(0.0));
                    at += 1;
                }
            }
            debug_assert_eq!(at, dst.len());
        },
    )
}

/// The events of `a^T` (`[cols, rows]`) into `out`: a counting sort by column, stable, so
/// each new row lists its columns ascending.
pub fn transpose(a: &Events, out: &mut Events) {
    out.rows = a.cols;
    out.cols = a.rows;
    out.start.clear();
    out.start.resize(a.cols + 1, 0);
    for &(c, _) in &a.entries {
        out.start[c as usize + 1] += 1;
    }
    for c in 0..a.cols {
        out.start[c + 1] += out.start[c];
    }
    out.entries.clear();
    out.entries.resize(a.len(), (0, 0.0));
    let mut next = out.start[..a.cols].to_vec();
    for r in 0..a.rows {
        for &(c, v) in a.row(r) {
            let at = &mut next[c as usize];
            out.entries[*at] = (r as u32, v);
            *at += 1;
        }
    }
}

/// `out[..W] = sum over events (p, v) of v * panel[p * ld..][..W]`, the sum held in registers.
#[inline(always)]
fn block_sum<const W: usize>(events: &[(u32, f32)], panel: &[f32], ld: usize, out: &mut [f32]) {
    let mut acc = [0.0f32; W];
    const AHEAD: usize = 6;
    for (i, &(p, v)) in events.iter().enumerate() {
        if let Some(&(pn, _)) = events.get(i + AHEAD) {
            let at = panel.as_ptr().wrapping_add(pn as usize * ld);
            for l in (0..W).step_by(16) {
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                        at.wrapping_add(l) as *const i8,
                    )
                };
            }
        }
        let start = p as usize * ld;
        let piece: &[f32; W] = panel[start..start + W].try_into().unwrap();
        for q in 0..W {
            acc[q] = v.mul_add(piece[q], acc[q]);
        }
    }
    out[..W].copy_from_slice(&acc);
}

/// [`block_sum`] for a last block of `w < 8` columns.
fn tail_sum(events: &[(u32, f32)], panel: &[f32], ld: usize, w: usize, out: &mut [f32]) {
    out[..w].fill(0.0);
    for &(p, v) in events {
        let piece = &panel[p as usize * ld..][..w];
        out[..w]
            .iter_mut()
            .zip(piece)
            .for_each(|(o, b)| *o += v * b);
    }
}

/// Column blocks `(j0, w)` of an `n`-column matrix: blocks of 64, then one each of 32, 16
/// and 8 as they fit, then the rest.
fn column_blocks(n: usize) -> Vec<(usize, usize)> {
    let mut blocks = Vec::new();
    let mut j0 = 0;
    while j0 < n {
        let left = n - j0;
        let w = [BLOCK, 32, 16, 8]
            .into_iter()
            .find(|&w| w <= left)
            .unwrap_or(left);
        blocks.push((j0, w));
        j0 += w;
    }
    blocks
}

/// `b^T` (`[k, n]`; `b` is stored `[n, k]`) repacked into `packed` as its column blocks one
/// after the other, each a contiguous `[k, w]` panel starting at `k * j0`.
fn pack_panels(k: usize, n: usize, b: &[f32], blocks: &[(usize, usize)], packed: &mut Vec<f32>) {
    packed.resize(k * n, 0.0);
    let pp = SyncPtr(packed.as_mut_ptr());
    blocks.par_iter().for_each(|&(j0, w)| {
        // SAFETY: each block writes its own range [k * j0, k * (j0 + w)).
        let panel = unsafe { std::slice::from_raw_parts_mut(pp.get().add(k * j0), k * w) };
        // Rows j0..j0 + w of the stored `[n, k]` matrix are a contiguous `[w, k]` block whose
        // transpose is the panel.
        super::transpose::transpose(&b[j0 * k..(j0 + w) * k], w, k, panel);
    });
}

thread_local! {
    /// The caller's packed copy of `b^T` (when `b` is stored transposed).
    static PANELS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// A task's output rows when `c` is stored transposed.
    static BLOCK_ROWS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's scratch buffer, or on a fresh one when it is in use (a rayon
/// thread waiting inside a product may pick up a task of another product).
fn with_scratch<R>(
    key: &'static LocalKey<RefCell<Vec<f32>>>,
    f: impl FnOnce(&mut Vec<f32>) -> R,
) -> R {
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => f(&mut v),
        Err(_) => f(&mut Vec::new()),
    })
}

/// `op(c)[m, n] = a[m, k] . op(b)[k, n]` over the events of `a` only (`m = a.rows`, `k =
/// a.cols`). `b` is stored `[k, n]`, or `[n, k]` when `b_t`; `c` is `[m, n]`, or `[n, m]`
/// when `c_t`; `c` is overwritten.
pub fn gemm_events(a: &Events, n: usize, b: &[f32], b_t: bool, c: &mut [f32], c_t: bool) {
    let (m, k) = (a.rows, a.cols);
    assert!(b.len() >= k * n && c.len() >= m * n);
    let blocks = column_blocks(n);
    with_scratch(&PANELS, |packed| {
        // `b` stored `[k, n]` already holds each panel's rows, `n` apart (one panel row is
        // contiguous): read in place. Stored `[n, k]`, it is transposed into panels.
        if b_t {
            pack_panels(k, n, b, &blocks, packed);
        }
        let packed = &packed[..];
        let cp = SyncPtr(c.as_mut_ptr());
        (0..m.div_ceil(ROWS_PER_TASK))
            .into_par_iter()
            .for_each(|task| {
                let i0 = task * ROWS_PER_TASK;
                let rows = ROWS_PER_TASK.min(m - i0);
                with_scratch(&BLOCK_ROWS, |scratch| {
                    // The task's rows of op(c), `[rows, n]`: written in place, or into scratch
                    // and then copied into c's columns i0..i0 + rows.
                    let cr: &mut [f32] = if c_t {
                        scratch.resize(rows * n, 0.0);
                        scratch
                    } else {
                        // SAFETY: tasks own disjoint row ranges of `c`.
                        unsafe { std::slice::from_raw_parts_mut(cp.get().add(i0 * n), rows * n) }
                    };
                    for &(j0, w) in &blocks {
                        let (panel, ld) = if b_t {
                            (&packed[k * j0..k * (j0 + w)], w)
                        } else {
                            (&b[j0..k * n], n)
                        };
                        for r in 0..rows {
                            let (ev, out) = (a.row(i0 + r), &mut cr[r * n + j0..r * n + j0 + w]);
                            match w {
                                BLOCK => block_sum::<BLOCK>(ev, panel, ld, out),
                                32 => block_sum::<32>(ev, panel, ld, out),
                                16 => block_sum::<16>(ev, panel, ld, out),
                                8 => block_sum::<8>(ev, panel, ld, out),
                                _ => tail_sum(ev, panel, ld, w, out),
                            }
                        }
                    }
                    if c_t {
                        // SAFETY: tasks own disjoint column ranges [i0, i0 + rows) of c^T
                        // (`[n, m]`), inside it as c.len() >= m * n.
                        unsafe { super::transpose::transpose_to(cr, rows, n, cp.get().add(i0), m) };
                    }
                });
            });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn spikes(rng: &mut Rng, len: usize, density: f32) -> Vec<f32> {
        (0..len)
            .map(|_| {
                if rng.uniform() < density {
                    rng.uniform() + 0.5
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// The collection decides the path as `sparse::density` would: it refuses an input
    /// denser than the bound and takes one at the bound.
    #[test]
    fn collect_refuses_inputs_denser_than_the_bound() {
        let mut rng = Rng::new(4);
        let (rows, cols) = (40, 50);
        let x = spikes(&mut rng, rows * cols, 0.3);
        let density = super::super::sparse::density(&x);
        let mut e = Events::default();
        assert!(!collect(&x, rows, cols, density - 0.01, &mut e));
        assert!(collect(&x, rows, cols, density, &mut e));
        assert_eq!(e.to_dense(), x);
    }

    #[test]
    fn collect_and_transpose_round_trip() {
        let mut rng = Rng::new(3);
        for (rows, cols) in [(1, 1), (3, 7), (70, 19), (5, 64), (130, 33)] {
            let x = spikes(&mut rng, rows * cols, 0.2);
            let mut e = Events::default();
            assert!(collect(&x, rows, cols, 1.0, &mut e));
            assert_eq!(e.to_dense(), x);
            assert_eq!(e.len(), x.iter().filter(|&&v| v != 0.0).count());
            let mut t = Events::default();
            transpose(&e, &mut t);
            let xt = t.to_dense();
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(xt[c * rows + r], x[r * cols + c]);
                }
            }
            for r in 0..t.rows {
                assert!(
                    t.row(r).windows(2).all(|w| w[0].0 < w[1].0),
                    "columns ascending"
                );
            }
        }
    }

    /// Every combination of transposed operands, ragged column blocks (n = 1..200) and
    /// partial row tasks, against a plain triple loop.
    #[test]
    fn gemm_events_matches_dense_product() {
        let mut rng = Rng::new(5);
        for (m, k, n) in [
            (1, 1, 1),
            (7, 13, 5),
            (130, 40, 100),
            (65, 9, 200),
            (3, 300, 71),
        ] {
            let x = spikes(&mut rng, m * k, 0.15);
            let b: Vec<f32> = (0..k * n).map(|_| rng.uniform() - 0.5).collect();
            let mut e = Events::default();
            assert!(collect(&x, m, k, 1.0, &mut e));
            let mut want = vec![0.0f32; m * n];
            for i in 0..m {
                for p in 0..k {
                    for j in 0..n {
                        want[i * n + j] += x[i * k + p] * b[p * n + j];
                    }
                }
            }
            let mut bt = vec![0.0; k * n];
            for p in 0..k {
                for j in 0..n {
                    bt[j * k + p] = b[p * n + j];
                }
            }
            for (b_t, c_t) in [(false, false), (true, false), (false, true), (true, true)] {
                let mut c = vec![f32::NAN; m * n];
                gemm_events(&e, n, if b_t { &bt } else { &b }, b_t, &mut c, c_t);
                for i in 0..m {
                    for j in 0..n {
                        let got = if c_t { c[j * m + i] } else { c[i * n + j] };
                        let w = want[i * n + j];
                        assert!(
                            (got - w).abs() <= 1e-4 * (1.0 + w.abs()),
                            "{m}x{k}x{n} {b_t} {c_t}: {got} vs {w}"
                        );
                    }
                }
            }
        }
    }
}
