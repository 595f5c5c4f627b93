//! NIR, the Neuromorphic Intermediate Representation (the `nir` Python package's HDF5 format,
//! read by `nir.read`): the graph type shared by the export (`export.rs`: a model to a
//! graph and the graph to HDF5 bytes), the reader (`read.rs`: HDF5 bytes to a graph) and
//! the import (`import/`: a graph to a model and its config).
//!
//! The graph is a chain of nodes named after the model's layers (the checkpoint's parameter
//! prefixes), with the weight normalization and its affine transform folded into plain
//! weights and biases:
//!
//! | ttfs layer | NIR nodes |
//! |---|---|
//! | input | `Input` (`[C, H, W]` or `[F]`) |
//! | `fc<N>` | `Affine` (`fcK`) |
//! | `conv...` | `Conv2d` (`convK`), and `AvgPool2d` (`convK_pool`) when the average pooling that follows it was folded into it |
//! | `ap<K>` | `AvgPool2d` |
//! | `fp<K>` (first-spike pooling of spikes) | `SumPool2d` + `IF` (threshold 0.5, fire-once): the pooled unit fires at the first step any spike of its window arrives, exactly as `fp` |
//! | `mp<K>` on spikes | `SumPool2d` + `IF` (threshold 0.5, reset to 0, not fire-once): a spike at every step with a spike in the window |
//! | `if` | `IF` (`ifK`: r = 1, threshold 1, reset 0, `metadata.fire_once = 1`) |
//! | flatten | `Flatten` (`start_dim = 0`: shapes are one sample's, without a batch dimension) |
//! | decoder `temporal`, `first_spike` | `IF` (`out`, fire-once) then `Output` |
//! | decoder `membrane` | `I` (`readout`, r = 1: the potential integrates the currents) then `Output` |
//!
//! Time is discrete, `dt = 1`, `T = metadata.time_steps` steps per sample; every node runs at
//! every step (a spike crosses all layers in the step it is emitted, as in ttfs). An IF node
//! integrates `v[t] = v[t-1] + r * I[t]` and spikes when `v >= v_threshold` (ttfs's
//! comparison; NIR's IF definition reads `v > v_threshold`). The pooled IF nodes receive a
//! whole number of spikes, so their threshold is 0.5, where both comparisons agree for every
//! input; the others receive real-valued currents and differ only for a potential exactly
//! at 1. The graph's metadata states the rest: the input encoding, fire-once, the decoder's
//! time weights, how the class is read out and the ttfs model config.
//! What a consumer that ignores fire-once computes differently: see docs/nir.md.
//!
//! Not expressible in NIR, and refused with an error: max pooling of currents (`conv mp2 if`)
//! and the `count` decoder (its output neurons reset by subtraction; NIR's IF resets to
//! `v_reset`).

pub mod export;
pub mod import;
pub mod read;

pub use self::export::{export, graph, to_bytes};
pub use self::import::{import, ImportOptions, Imported};
pub use self::read::{read, read_bytes};

/// The version of the `nir` package whose format is written.
pub const NIR_VERSION: &str = "1.0.8";

/// A value stored in the graph.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    F32(Vec<usize>, Vec<f32>),
    I64(Vec<usize>, Vec<i64>),
    Str(String),
}

impl Value {
    pub(crate) fn ints(v: &[usize]) -> Value {
        Value::I64(vec![v.len()], v.iter().map(|&x| x as i64).collect())
    }
    pub(crate) fn int(v: i64) -> Value {
        Value::I64(vec![], vec![v])
    }
    pub(crate) fn floats(shape: &[usize], v: Vec<f32>) -> Value {
        Value::F32(shape.to_vec(), v)
    }
}

/// One node: its NIR type, its fields and its metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub name: String,
    pub kind: String,
    pub fields: Vec<(String, Value)>,
    pub metadata: Vec<(String, Value)>,
}

impl Node {
    pub(crate) fn new(name: &str, kind: &str) -> Node {
        Node {
            name: name.into(),
            kind: kind.into(),
            fields: Vec::new(),
            metadata: Vec::new(),
        }
    }
    pub(crate) fn field(mut self, k: &str, v: Value) -> Node {
        self.fields.push((k.into(), v));
        self
    }
    pub(crate) fn meta(mut self, k: &str, v: Value) -> Node {
        self.metadata.push((k.into(), v));
        self
    }
    /// A field's value.
    pub fn get(&self, k: &str) -> Option<&Value> {
        self.fields.iter().find(|f| f.0 == k).map(|f| &f.1)
    }
    /// A metadata value.
    pub fn get_meta(&self, k: &str) -> Option<&Value> {
        self.metadata.iter().find(|f| f.0 == k).map(|f| &f.1)
    }
}

/// A chain of nodes (each feeds the next) and the graph's metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub metadata: Vec<(String, Value)>,
}

impl Graph {
    /// A metadata value of the graph.
    pub fn get_meta(&self, k: &str) -> Option<&Value> {
        self.metadata.iter().find(|f| f.0 == k).map(|f| &f.1)
    }
}
