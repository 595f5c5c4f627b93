//! Sizes that a user's spec, input shape or batch decides, checked before anything of that size
//! is allocated.
//!
//! Why: an allocation that fails aborts the process (Rust's allocation-failure handler), with
//! no message a user can act on, and it takes a Python interpreter down with it
//! (`ttfs.Model(spec="fc1000000000 if fc10")` asked for 256 GB of weights). Checked first, the
//! same request is one line naming the layer, its size and the memory it would take.
//!
//! The limit is the machine's physical memory (`MemTotal` of `/proc/meminfo`; 64 GiB where that
//! cannot be read): a model or batch that cannot fit there cannot run, whatever else the
//! machine does. What fits may still be more than is free at the moment; that is left to the
//! operating system. Sizes are computed in `u128`, so that no product of user numbers wraps.

use anyhow::{bail, Result};

/// Bytes of one stored value (f32).
pub const VALUE: u128 = 4;

/// Bytes per weight while a model exists: the value, its gradient and the normalized copy the
/// forward pass uses.
pub const PER_WEIGHT_BUILT: u128 = 3 * VALUE;

/// Bytes per weight while it trains: also the optimizer's two moments.
pub const PER_WEIGHT_TRAINED: u128 = 5 * VALUE;

/// Where the physical memory cannot be read: a large workstation's.
const FALLBACK_LIMIT: u128 = 64 << 30;

/// The memory a model and its batches may take (bytes).
pub fn memory_limit() -> u128 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(FALLBACK_LIMIT)
}

/// `bytes` for a reader: "256 GB", "1.5 TB", "12 MB".
pub fn human(bytes: u128) -> String {
    let b = bytes as f64;
    for (unit, size) in [
        ("PB", 1e15),
        ("TB", 1e12),
        ("GB", 1e9),
        ("MB", 1e6),
        ("kB", 1e3),
    ] {
        if b >= size {
            let v = b / size;
            return if v >= 10.0 || v.fract() < 0.05 {
                format!("{v:.0} {unit}")
            } else {
                format!("{v:.1} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
}

/// The product of `dims` (no overflow).
pub fn product(dims: &[usize]) -> u128 {
    dims.iter().map(|&d| d as u128).product()
}

/// The machine's memory, for messages.
pub fn machine() -> String {
    format!("this machine has {} of memory", human(memory_limit()))
}

/// An input frame must have a size in every dimension, and one sample's input over `t` steps
/// must fit.
pub fn check_input(frame: &[usize], t: usize) -> Result<()> {
    if frame.is_empty() || frame.contains(&0) {
        bail!("input shape {frame:?}: every dimension must be at least 1");
    }
    let need = product(frame) * t as u128 * VALUE;
    if need > memory_limit() {
        bail!(
            "input shape {frame:?} at model.time_steps = {t}: one sample's input needs {}; {}",
            human(need),
            machine()
        );
    }
    Ok(())
}

/// Before a synapse's weights are allocated: `name` (`fc1`) of spec token `token` has weights
/// of `shape` (`[out, in, ...]`); `before` bytes are taken by the layers below it.
pub fn check_weights(name: &str, token: &str, shape: &[usize], before: u128) -> Result<u128> {
    let n = product(shape);
    let need = n * PER_WEIGHT_BUILT;
    if before + need > memory_limit() {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        bail!(
            "model.spec: {name} (`{token}`): {} weights need {} ({} with the gradient and \
             normalized copy a model keeps, {} to train); {}",
            dims.join(" x "),
            human(n * VALUE),
            human(need),
            human(n * PER_WEIGHT_TRAINED),
            machine()
        );
    }
    Ok(before + need)
}

/// One sample's output of layer `name` (frame `frame`, `t` steps), with its gradient.
pub fn check_frame(name: &str, frame: &[usize], t: usize) -> Result<()> {
    let need = 2 * product(frame) * t as u128 * VALUE;
    if need > memory_limit() {
        bail!(
            "model.spec: the output of {name} ({frame:?} at {t} time steps) needs {} for one \
             sample; {}",
            human(need),
            machine()
        );
    }
    Ok(())
}

/// The activations of a batch of `batch` samples: every layer's output over `t` steps
/// (`frames`, named by `names`; with their gradients when `training`), plus `fixed` bytes the
/// parameters take. `what` names the setting that chose the batch.
pub fn check_batch(
    names: &[String],
    frames: &[Vec<usize>],
    t: usize,
    batch: usize,
    training: bool,
    fixed: u128,
    what: &str,
) -> Result<()> {
    let copies = if training { 2 } else { 1 };
    let per: Vec<u128> = frames
        .iter()
        .map(|f| product(f) * (t * batch) as u128 * VALUE * copies)
        .collect();
    let total: u128 = per.iter().sum::<u128>() + fixed;
    if total > memory_limit() {
        let (i, largest) = per
            .iter()
            .enumerate()
            .max_by_key(|(_, b)| **b)
            .expect("at least the input");
        bail!(
            "{what} = {batch}: a batch's activations{} need {} (the largest, {} {:?} x {batch} \
             samples x {t} steps, {}); {}: lower {what}",
            if training { " and their gradients" } else { "" },
            human(total),
            names[i],
            frames[i],
            human(*largest),
            machine()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_a_person_writes_them() {
        assert_eq!(human(256_000_000_000), "256 GB");
        assert_eq!(human(1_280_000_000_000), "1.3 TB");
        assert_eq!(human(12), "12 bytes");
        assert_eq!(
            product(&[usize::MAX, usize::MAX]),
            (usize::MAX as u128).pow(2)
        );
        assert!(memory_limit() >= 1 << 20);
    }

    #[test]
    fn the_message_names_the_layer_the_shape_and_the_memory() {
        let e = check_weights("fc1", "fc1000000000", &[1_000_000_000, 64], 0).unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.contains("fc1 (`fc1000000000`): 1000000000 x 64 weights need 256 GB")
                && e.contains("of memory"),
            "{e}"
        );
        let e = format!("{:#}", check_input(&[1, 1, 0], 8).unwrap_err());
        assert!(
            e.contains("[1, 1, 0]: every dimension must be at least 1"),
            "{e}"
        );
        assert!(check_weights("fc1", "fc10", &[10, 64], 0).is_ok());
    }
}
