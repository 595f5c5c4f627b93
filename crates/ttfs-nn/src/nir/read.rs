//! Reading an NIR file (the `nir` package's HDF5 layout, as `nir.write` and `ttfs export nir`
//! write it) into a [`Graph`]: the root dataset `version`, and the group `node` holding `type`
//! (`NIRGraph`), `edges` (`[E, 2]` strings), `metadata/` and `nodes/<name>/` (each with its
//! `type`, its fields and its `metadata/`).
//!
//! The HDF5 decoding is the `hdf5-reader` crate's (pure Rust, bounds-checked). Every error
//! names the file and, where there is one, the node or dataset; nothing in a file can make the
//! reader panic (`tests::damaged_files_are_errors`). Only what ttfs can run is accepted: a
//! chain from the `Input` node to the `Output` node, without subgraphs.

use crate::nir::{Graph, Node, Value};
use anyhow::{anyhow, bail, Context, Result};
use hdf5_reader::group::Group;
use hdf5_reader::{Dataset, Datatype, Hdf5File, OpenOptions};
use std::collections::HashMap;
use std::path::Path;

/// Read the NIR file at `path`. Errors start with the path.
pub fn read(path: &Path) -> Result<Graph> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read NIR file {}", path.display()))?;
    read_bytes(&bytes).with_context(|| path.display().to_string())
}

/// Read an NIR file's bytes.
pub fn read_bytes(bytes: &[u8]) -> Result<Graph> {
    if !bytes.starts_with(b"\x89HDF\r\n\x1a\n") {
        bail!("not an NIR file: NIR files are HDF5 (written by nir.write or `ttfs export nir`)");
    }
    // The reader is hardened against malformed input; this keeps a bug in it an error too.
    std::panic::catch_unwind(|| parse(bytes))
        .unwrap_or_else(|_| Err(anyhow!("the HDF5 decoder failed on this file (damaged?)")))
}

fn parse(bytes: &[u8]) -> Result<Graph> {
    // A damaged size field must not allocate more than the machine has.
    let budget = crate::sizes::memory_limit().min(usize::MAX as u128) as usize;
    let file = Hdf5File::from_bytes_with_options(
        bytes,
        OpenOptions::default().with_max_read_bytes(budget),
    )
    .map_err(|e| anyhow!("not a readable HDF5 file: {e}"))?;
    let root = file
        .root_group()
        .map_err(|e| anyhow!("HDF5 root group: {e}"))?;
    let node = root
        .group("node")
        .map_err(|_| anyhow!("no group `node`: not an NIR graph file"))?;
    let kind = string(&node, "type", "node/type")?;
    if kind != "NIRGraph" {
        bail!("the file holds a single `{kind}` node, not an NIRGraph");
    }
    let edges = read_edges(&node)?;
    let metadata = match node.group("metadata") {
        Ok(g) => values(&g, "node/metadata")?,
        Err(_) => Vec::new(),
    };
    let nodes_group = node
        .group("nodes")
        .map_err(|_| anyhow!("no group `node/nodes`: the graph has no nodes"))?;
    let (names, stray) = nodes_group
        .member_names()
        .map_err(|e| anyhow!("node/nodes: {e}"))?;
    if let Some(s) = stray.first() {
        bail!("node/nodes/{s} is a dataset where a node (a group) was expected");
    }
    let mut nodes = HashMap::new();
    for name in &names {
        let g = nodes_group
            .group(name)
            .map_err(|e| anyhow!("node `{name}`: {e}"))?;
        nodes.insert(name.clone(), read_node(&g, name)?);
    }
    let nodes = chain(nodes, &edges)?;
    Ok(Graph { nodes, metadata })
}

/// One node: `type`, every other dataset as a field, `metadata/` as its metadata.
fn read_node(g: &Group, name: &str) -> Result<Node> {
    let at = format!("node `{name}`");
    let kind = string(g, "type", &at)?;
    if kind == "NIRGraph" {
        bail!("{at} is a subgraph (NIRGraph): ttfs imports a flat chain of nodes");
    }
    let mut node = Node::new(name, &kind);
    node.fields = values(g, &at)?
        .into_iter()
        .filter(|(k, _)| k != "type")
        .collect();
    if let Ok(m) = g.group("metadata") {
        node.metadata = values(&m, &format!("{at}, metadata"))?;
    }
    Ok(node)
}

/// Every dataset of group `g` as a value (nested groups other than `metadata` are refused).
fn values(g: &Group, at: &str) -> Result<Vec<(String, Value)>> {
    let (groups, datasets) = g.member_names().map_err(|e| anyhow!("{at}: {e}"))?;
    if let Some(x) = groups.iter().find(|n| *n != "metadata") {
        bail!("{at}: unexpected group `{x}` (NIR node fields are datasets)");
    }
    let mut out = Vec::new();
    for name in datasets {
        let ds = g
            .dataset(&name)
            .map_err(|e| anyhow!("{at}, dataset `{name}`: {e}"))?;
        let v = value(&ds).with_context(|| format!("{at}, dataset `{name}`"))?;
        out.push((name, v));
    }
    Ok(out)
}

/// A dataset as a [`Value`]: floats as `f32` (a `float64` weight is rounded, as torch would
/// when it loads it as `float32`), integers as `i64`, one string as a string.
fn value(ds: &Dataset) -> Result<Value> {
    let shape: Vec<usize> = ds.shape().iter().map(|&d| d as usize).collect();
    let err = |e: hdf5_reader::error::Error| anyhow!("{e}");
    Ok(match ds.dtype() {
        Datatype::FloatingPoint { size: 4, .. } => Value::F32(
            shape,
            ds.read_array::<f32>()
                .map_err(err)?
                .iter()
                .copied()
                .collect(),
        ),
        Datatype::FloatingPoint { size: 8, .. } => Value::F32(
            shape,
            ds.read_array::<f64>()
                .map_err(err)?
                .iter()
                .map(|&x| x as f32)
                .collect(),
        ),
        Datatype::FixedPoint { size, signed, .. } => {
            Value::I64(shape, ints(ds, *size, *signed).map_err(err)?)
        }
        Datatype::String { .. } | Datatype::VarLen { .. } => {
            let mut s = ds.read_strings().map_err(err)?;
            if s.len() != 1 {
                bail!("{} strings where one was expected", s.len());
            }
            Value::Str(s.swap_remove(0))
        }
        Datatype::Enum { base, .. } if matches!(**base, Datatype::FixedPoint { size: 1, .. }) => {
            // h5py stores numpy booleans as an enum of one byte.
            Value::I64(shape, ints(ds, 1, true).map_err(err)?)
        }
        t => bail!("unsupported HDF5 type {t:?}"),
    })
}

fn ints(ds: &Dataset, size: u8, signed: bool) -> hdf5_reader::error::Result<Vec<i64>> {
    fn all<T: hdf5_reader::H5Type + Copy>(
        ds: &Dataset,
        f: impl Fn(T) -> i64,
    ) -> hdf5_reader::error::Result<Vec<i64>> {
        Ok(ds.read_array::<T>()?.iter().map(|&x| f(x)).collect())
    }
    match (size, signed) {
        (1, true) => all(ds, |x: i8| x as i64),
        (1, false) => all(ds, |x: u8| x as i64),
        (2, true) => all(ds, |x: i16| x as i64),
        (2, false) => all(ds, |x: u16| x as i64),
        (4, true) => all(ds, |x: i32| x as i64),
        (4, false) => all(ds, |x: u32| x as i64),
        (8, true) => all(ds, |x: i64| x),
        // Larger than i64::MAX only in a damaged file; saturate rather than wrap.
        _ => all(ds, |x: u64| x.min(i64::MAX as u64) as i64),
    }
}

/// The string dataset `name` of group `g`.
fn string(g: &Group, name: &str, at: &str) -> Result<String> {
    let ds = g
        .dataset(name)
        .map_err(|_| anyhow!("{at}: no `{name}` dataset"))?;
    match value(&ds).with_context(|| format!("{at}: `{name}`"))? {
        Value::Str(s) => Ok(s),
        v => bail!("{at}: `{name}` is {v:?}, not a string"),
    }
}

/// `node/edges`: `[E, 2]` strings (source, target).
fn read_edges(node: &Group) -> Result<Vec<(String, String)>> {
    let ds = node
        .dataset("edges")
        .map_err(|_| anyhow!("no `node/edges` dataset: the graph has no edges"))?;
    let s = ds
        .read_strings()
        .map_err(|e| anyhow!("node/edges: {e} (expected [E, 2] strings)"))?;
    if s.len() % 2 != 0 || (ds.shape().len() == 2 && ds.shape()[1] != 2) {
        bail!(
            "node/edges has shape {:?}: expected [E, 2] (source, target)",
            ds.shape()
        );
    }
    Ok(s.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect())
}

/// The nodes in edge order from the `Input` node to the `Output` node: ttfs runs a chain of
/// layers, so every node has one input and one output.
fn chain(mut nodes: HashMap<String, Node>, edges: &[(String, String)]) -> Result<Vec<Node>> {
    for (a, b) in edges {
        for n in [a, b] {
            if !nodes.contains_key(n) {
                bail!("edge ({a}, {b}) names node `{n}`, which the graph does not have");
            }
        }
    }
    let count =
        |f: fn(&(String, String)) -> &String, n: &str| edges.iter().filter(|e| f(e) == n).count();
    for n in nodes.keys() {
        let (ins, outs) = (count(|e| &e.1, n), count(|e| &e.0, n));
        if ins > 1 || outs > 1 {
            bail!(
                "node `{n}` has {ins} incoming and {outs} outgoing edges: ttfs runs a chain of \
                 layers (one input and one output each), without branches or recurrence"
            );
        }
    }
    let inputs: Vec<&String> = nodes
        .iter()
        .filter(|(_, v)| v.kind == "Input")
        .map(|(k, _)| k)
        .collect();
    let first = match inputs[..] {
        [one] => one.clone(),
        [] => bail!("the graph has no Input node"),
        _ => bail!(
            "the graph has {} Input nodes; ttfs takes one input",
            inputs.len()
        ),
    };
    let next: HashMap<&str, &str> = edges
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let mut order = vec![first];
    while let Some(&n) = next.get(order.last().unwrap().as_str()) {
        if order.iter().any(|o| o == n) {
            bail!("node `{n}` closes a cycle: ttfs runs a chain of layers");
        }
        order.push(n.to_string());
    }
    if let Some(stray) = nodes.keys().find(|k| !order.contains(k)) {
        bail!("node `{stray}` is not on the path from the Input node: ttfs runs a chain of layers");
    }
    let last = &nodes[order.last().unwrap()];
    if last.kind != "Output" {
        bail!(
            "the chain from the Input node ends at `{}` ({}), not at an Output node",
            last.name,
            last.kind
        );
    }
    Ok(order
        .iter()
        .map(|n| nodes.remove(n).expect("every name on the chain is a node"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Model, ModelConfig};
    use crate::rng::Rng;

    fn exported(spec: &str) -> (Graph, Vec<u8>) {
        let cfg = ModelConfig {
            spec: spec.into(),
            ..ModelConfig::default()
        };
        let mut m = Model::new(&cfg, &[1, 8, 8], &mut Rng::new(3)).unwrap();
        let g = crate::nir::graph(&mut m).unwrap();
        let bytes = crate::nir::to_bytes(&g).unwrap();
        (g, bytes)
    }

    /// The reader gives back what the writer wrote: every node, field and metadata value.
    #[test]
    fn written_graphs_read_back_equal() {
        for spec in ["fc12 if fc10", "conv4k3p1 ap2 if conv6k3p1 if fp2 fc10"] {
            let (g, bytes) = exported(spec);
            let back = read_bytes(&bytes).unwrap();
            assert_eq!(back.nodes.len(), g.nodes.len());
            for (a, b) in g.nodes.iter().zip(&back.nodes) {
                let sorted = |v: &[(String, Value)]| {
                    let mut v = v.to_vec();
                    v.sort_by(|x, y| x.0.cmp(&y.0));
                    v
                };
                assert_eq!((&a.name, &a.kind), (&b.name, &b.kind));
                assert_eq!(sorted(&a.fields), sorted(&b.fields), "{}", a.name);
                assert_eq!(sorted(&a.metadata), sorted(&b.metadata), "{}", a.name);
            }
            let mut m1 = g.metadata.clone();
            let mut m2 = back.metadata.clone();
            m1.sort_by(|x, y| x.0.cmp(&y.0));
            m2.sort_by(|x, y| x.0.cmp(&y.0));
            assert_eq!(m1, m2);
        }
    }

    /// Truncated files and flipped bytes are errors, never panics.
    #[test]
    fn damaged_files_are_errors() {
        let (_, bytes) = exported("fc12 if fc10");
        let mut rng = Rng::new(7);
        let mut failures = 0;
        for cut in (0..bytes.len()).step_by(97) {
            failures += read_bytes(&bytes[..cut]).is_err() as usize;
        }
        assert!(failures > 0);
        for _ in 0..300 {
            let mut b = bytes.clone();
            let i = (rng.next_u64() % b.len() as u64) as usize;
            b[i] ^= 1 << (rng.next_u64() % 8);
            // Either an error or a graph: what matters is that it returns.
            let _ = read_bytes(&b);
        }
        let e = read_bytes(b"not hdf5").unwrap_err().to_string();
        assert!(e.contains("not an NIR file"), "{e}");
    }
}
