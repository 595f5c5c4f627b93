//! The gather of a batch of 8-bit images kept in memory (the GPU's data path, mirrored here so
//! that both backends are compared; the CPU trainer assembles batches in `data/batch.rs`).

use crate::kernels::{ImageGather, PLACEMENT_LEN};

// data: packed bytes, sample i at byte i*F; idx [B]; place [B, 7]; out [1 or T, B, F]
pub fn images(
    g: &ImageGather,
    data: &[u32],
    idx: &[u32],
    place: &[u32],
    norm: &[f32],
    out: &mut Vec<f32>,
) {
    let [c, h, w] = g.frame;
    let f = c * h * w;
    let b = g.batch;
    let t = if g.latency { g.time_steps } else { 1 };
    out.clear();
    out.resize(t * b * f, 0.0);
    for j in 0..b {
        let p = &place[j * PLACEMENT_LEN..(j + 1) * PLACEMENT_LEN];
        let (flip, dy, dx) = (p[0] != 0, p[1] as i32 as isize, p[2] as i32 as isize);
        for k in 0..f {
            let (ch, y, x) = (k / (h * w), (k / w) % h, k % w);
            let sy = y as isize + dy;
            let xf = if flip { w - 1 - x } else { x };
            let sx = xf as isize + dx;
            let cut = (p[3] as usize..p[4] as usize).contains(&y)
                && (p[5] as usize..p[6] as usize).contains(&x);
            let inside = sy >= 0 && sy < h as isize && sx >= 0 && sx < w as isize;
            let v = if inside && !cut {
                let byte = idx[j] as usize * f + (ch * h + sy as usize) * w + sx as usize;
                (data[byte >> 2] >> ((byte & 3) * 8)) & 255
            } else {
                0
            };
            let xv = if g.normalize {
                (v as f32 * g.scale - norm[ch]) / norm[c + ch]
            } else {
                v as f32 * g.scale
            };
            if !g.latency {
                out[j * f + k] = xv;
            } else if !(xv <= 0.0 && g.zero_silent) {
                let step = ((1.0 - xv.clamp(0.0, 1.0)) * (t - 1) as f32).round() as usize;
                out[(step * b + j) * f + k] = 1.0;
            }
        }
    }
}
