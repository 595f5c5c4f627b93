//! Reading a node's fields: typed values with errors that name the node and the field.

use crate::nir::{Node, Value};
use anyhow::{bail, Context, Result};

pub(super) fn at(n: &Node) -> String {
    format!("node `{}` ({})", n.name, n.kind)
}

pub(super) fn field<'a>(n: &'a Node, k: &str) -> Result<&'a Value> {
    n.get(k)
        .with_context(|| format!("{}: no `{k}` field", at(n)))
}

pub(super) fn floats(v: &Value) -> Result<(Vec<usize>, Vec<f32>)> {
    match v {
        Value::F32(s, d) => Ok((s.clone(), d.clone())),
        Value::I64(s, d) => Ok((s.clone(), d.iter().map(|&x| x as f32).collect())),
        Value::Str(_) => bail!("a string where numbers were expected"),
    }
}

pub(super) fn usizes(v: &Value) -> Result<Vec<usize>> {
    match v {
        Value::I64(_, d) if d.iter().all(|&x| x >= 0) => {
            Ok(d.iter().map(|&x| x as usize).collect())
        }
        _ => bail!("expected whole numbers of 0 or more, got {v:?}"),
    }
}

/// A single whole number (a scalar, or an array of one).
pub(super) fn int(v: &Value) -> Result<i64> {
    match v {
        Value::I64(_, d) if d.len() == 1 => Ok(d[0]),
        _ => bail!("expected one whole number, got {v:?}"),
    }
}

pub(super) fn positive(v: i64, what: &str) -> Result<usize> {
    if v < 1 {
        bail!("{what} is {v}; it must be at least 1");
    }
    Ok(v as usize)
}

/// A field that ttfs takes as one value for both spatial dimensions.
pub(super) fn square(n: &Node, k: &str) -> Result<usize> {
    let v = usizes(field(n, k)?).with_context(|| format!("{}: `{k}`", at(n)))?;
    match v[..] {
        [a] => Ok(a),
        [a, b] if a == b => Ok(a),
        _ => bail!(
            "{}: `{k}` is {v:?}; ttfs takes the same value for height and width",
            at(n)
        ),
    }
}

/// The bias of `n` (`[out]`), zeros for a `Linear` node.
pub(super) fn bias(n: &Node, out: usize) -> Result<Vec<f32>> {
    match n.get("bias") {
        None if n.kind == "Linear" => Ok(vec![0.0; out]),
        _ => {
            let (s, b) = floats(field(n, "bias")?).with_context(|| at(n))?;
            if b.len() != out {
                bail!("{}: bias {s:?} for {out} outputs", at(n));
            }
            Ok(b)
        }
    }
}

pub(super) fn min(v: &[f32]) -> f32 {
    v.iter().copied().fold(f32::INFINITY, f32::min)
}

pub(super) fn max(v: &[f32]) -> f32 {
    v.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}
