//! NIR import: ttfs -> NIR -> ttfs gives the same tensors and the same outputs bit for bit for
//! every exportable layer kind, decoder and encoding; a file written by the `nir` package
//! (h5py, gzip) reads as the one ttfs wrote; `ttfs import nir` writes a run that `ttfs eval`
//! and `ttfs train --init-from` take; what ttfs cannot represent is one line naming the file
//! and the node. Data: the embedded digits only.

mod common;

use common::{text, ttfs};

use std::path::Path;
use ttfs::config::Config;
use ttfs::data::batch::{assemble, InputSpec};
use ttfs::model::Model;
use ttfs::nir::{Graph, ImportOptions, Node, Value};
use ttfs::rng::Rng;
use ttfs::train::Trainer;

fn tmp(name: &str) -> std::path::PathBuf {
    common::tmp("nir", name)
}

/// A digits trainer for `spec` with `settings`, its parameters moved off their initial values
/// (weight-norm gains and biases included) so that folding and the decoder weights are not
/// trivial.
fn trainer(spec: &str, settings: &[&str]) -> Trainer {
    let mut set = vec![format!("model.spec={spec}")];
    set.extend(settings.iter().map(|s| s.to_string()));
    let cfg = Config::from_toml("", "test", &set).unwrap();
    let mut tr = Trainer::new(&cfg).unwrap();
    let mut rng = Rng::new(5);
    for p in tr.model.params_mut() {
        let v: Vec<f32> = p
            .value
            .to_vec()
            .iter()
            .map(|x| x * rng.range(0.9, 1.1) + rng.range(-0.02, 0.02))
            .collect();
        p.value.write(&v);
    }
    tr
}

/// Logits and first-spike times of the whole test split.
fn outputs(model: &mut Model, test: &ttfs::data::Dataset) -> (Vec<u32>, Vec<(String, Vec<u32>)>) {
    let spec = InputSpec {
        encoding: model.cfg.encoding,
        zero: model.cfg.zero_input,
        time_steps: model.cfg.time_steps,
        normalize: None,
    };
    let idx: Vec<usize> = (0..test.len()).collect();
    let (mut labels, mut scratch) = (Vec::new(), Vec::new());
    assemble(
        test,
        &idx,
        &spec,
        model.input_mut(),
        &mut labels,
        &mut scratch,
    );
    model.forward();
    let logits = model
        .logits
        .data
        .to_vec()
        .iter()
        .map(|x| x.to_bits())
        .collect();
    let first = model
        .first_spike_times()
        .into_iter()
        .map(|(name, _, f)| (name, f))
        .collect();
    (logits, first)
}

fn meta(g: &Graph, k: &str) -> Option<Value> {
    g.get_meta(k).cloned()
}

/// Nodes with their fields and metadata in name order (the reader lists them so).
fn sorted(nodes: &[Node]) -> Vec<Node> {
    nodes
        .iter()
        .map(|n| {
            let mut n = n.clone();
            n.fields.sort_by(|a, b| a.0.cmp(&b.0));
            n.metadata.sort_by(|a, b| a.0.cmp(&b.0));
            n
        })
        .collect()
}

#[test]
fn ttfs_to_nir_to_ttfs_is_bit_for_bit() {
    let cases: &[(&str, &[&str])] = &[
        ("fc32 if fc10", &[]),
        (
            "fc32 if fc10",
            &["model.encoding=latency", "model.zero_input=silent"],
        ),
        (
            "fc24 if fc10",
            &[
                "model.decoder.learn_weights=true",
                "model.decoder.exact_time=true",
            ],
        ),
        (
            "conv6k3p1 ap2 if conv8k3p1 if fp2 fc16 if fc10",
            &[
                "model.decoder.kind=first_spike",
                "model.decoder.exact_time=true",
            ],
        ),
        (
            "conv6k3p1 if mp2 conv8k3p1 if ap2 fc10",
            &["model.encoding=latency", "model.decoder.kind=membrane"],
        ),
        (
            "conv6k3p1 ap2 if fc10",
            &[
                "model.decoder.kind=membrane",
                "model.decoder.learn_weights=true",
                "model.norm=none",
            ],
        ),
    ];
    for (spec, settings) in cases {
        let what = format!("{spec} {settings:?}");
        let mut tr = trainer(spec, settings);
        let g = ttfs::nir::graph(&mut tr.model).unwrap();
        let back = ttfs::nir::read_bytes(&ttfs::nir::to_bytes(&g).unwrap()).unwrap();
        let mut imp = ttfs::nir::import(&back, &ImportOptions::default()).unwrap();
        assert!(imp.notes.is_empty(), "{what}: {:?}", imp.notes);
        // The same config but for the plain weights.
        let mut want = tr.model.cfg.clone();
        want.norm = ttfs::weight_norm::Norm::None;
        want.synapse_gains.clear();
        want.spec = imp.config.spec.clone();
        assert_eq!(imp.config, want, "{what}");
        // The same tensors: the graph of the imported model is the exported one, every
        // weight, bias, threshold and decoder weight bit for bit.
        // (`ttfs_layer` describes the layer, its normalization included: that one differs.)
        let again = ttfs::nir::graph(&mut imp.model).unwrap();
        let (a, b) = (sorted(&again.nodes), sorted(&g.nodes));
        assert_eq!(a.len(), b.len(), "{what}");
        for (x, y) in a.iter().zip(&b) {
            let strip = |n: &Node| {
                n.metadata
                    .iter()
                    .filter(|m| m.0 != "ttfs_layer")
                    .cloned()
                    .collect::<Vec<_>>()
            };
            assert!(
                x.name == y.name && x.kind == y.kind && x.fields == y.fields,
                "{what}: node {}",
                y.name
            );
            assert_eq!(strip(x), strip(y), "{what}: node {}", y.name);
        }
        for k in [
            "decoder_weights",
            "decoder_weight_drops",
            "time_steps",
            "input_encoding",
        ] {
            assert_eq!(meta(&again, k), meta(&g, k), "{what}: {k}");
        }
        // The same outputs on the test split: logits and every first-spike time.
        let (l1, f1) = outputs(&mut tr.model, &tr.test);
        let (l2, f2) = outputs(&mut imp.model, &tr.test);
        assert_eq!(l1, l2, "{what}: logits");
        assert_eq!(f1, f2, "{what}: first-spike times");
        assert!(f1
            .iter()
            .any(|(_, f)| f.iter().any(|&t| (t as usize) < want.time_steps)));
    }
}

/// A file written by the `nir` package (`nir.write(path, nir.read(ttfs_file))`: h5py, gzip
/// chunks, libhdf5's string types) reads as the file ttfs wrote, and imports.
#[test]
fn a_file_written_by_the_nir_package_reads_as_ttfs_wrote_it() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let ours = ttfs::nir::read(&dir.join("conv_fp2_ttfs.nir")).unwrap();
    let theirs = ttfs::nir::read(&dir.join("conv_fp2_nir_write.nir")).unwrap();
    // nir.read drops an AvgPool2d node's metadata, so nir.write does not write it back.
    let strip = |g: &Graph| {
        let mut n = sorted(&g.nodes);
        n.iter_mut()
            .filter(|n| n.kind == "AvgPool2d")
            .for_each(|n| n.metadata.clear());
        n
    };
    assert_eq!(strip(&theirs), strip(&ours));
    let mut m1 = ours.metadata.clone();
    let mut m2 = theirs.metadata.clone();
    m1.sort_by(|a, b| a.0.cmp(&b.0));
    m2.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(m1, m2);
    let imp = ttfs::nir::import(&theirs, &ImportOptions::default()).unwrap();
    assert_eq!(
        imp.config.spec,
        "conv4k3s1p1 ap2s2 if conv8k3s1p1 if fp2s2 fc10"
    );
}

/// `ttfs import nir` writes a run directory: `ttfs eval` gives the original's evaluation
/// exactly, and `ttfs train --init-from` fine-tunes it.
#[test]
fn the_import_command_writes_a_run_that_evaluates_and_fine_tunes() {
    let d = tmp("cli");
    let p = |n: &str| d.join(n).display().to_string();
    let o = ttfs(&[
        "train",
        "--out",
        &p("a"),
        "--threads",
        "1",
        "--quiet",
        "--epochs",
        "2",
        "--set",
        "model.spec=conv6k3p1 if fp2 fc10",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = ttfs(&["export", "nir", &p("a"), &p("a.nir")]);
    assert!(o.status.success(), "{}", text(&o));
    let o = ttfs(&["import", "nir", &p("a.nir"), "--out", &p("b")]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("conv6k3s1p1 if fp2s2 fc10"));
    let eval = |run: &str| -> serde_json::Value {
        let json = p(&format!("{run}.json"));
        let o = ttfs(&["eval", &p(run), "--threads", "1", "--json", &json]);
        assert!(o.status.success(), "{}", text(&o));
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
    };
    let (a, b) = (eval("a"), eval("b"));
    for k in ["accuracy", "loss", "samples"] {
        assert_eq!(a[k], b[k], "{k}");
    }
    let o = ttfs(&[
        "train",
        "--init-from",
        &p("b"),
        "--epochs",
        "1",
        "--out",
        &p("c"),
        "--threads",
        "1",
    ]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("starting from the parameters of"), "{out}");
    // A key that changes what the parameters mean is refused, naming the layer.
    let o = ttfs(&[
        "train",
        "--init-from",
        &p("a"),
        "--set",
        "model.init_gain=0.5",
        "--out",
        &p("d"),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("layer 1") && err.contains("--set model"),
        "{err}"
    );
}

/// Each error is one line naming the file and, for a node ttfs cannot represent, the node.
#[test]
fn what_ttfs_cannot_import_is_one_line_naming_the_file_and_node() {
    let d = tmp("errors");
    let mut model = trainer("fc16 if fc10", &[]).model;
    let good = ttfs::nir::graph(&mut model).unwrap();
    /// Replace field `k` of node `n`.
    fn set(g: &mut Graph, n: &str, k: &str, v: Value) {
        let node = g.nodes.iter_mut().find(|x| x.name == n).unwrap();
        node.fields.retain(|f| f.0 != k);
        node.fields.push((k.into(), v));
    }
    type Edit = Box<dyn Fn(&mut Graph)>;
    // (file name, change to a good graph, what the message must say)
    let cases: Vec<(&str, Edit, &[&str])> = vec![
        (
            "lif",
            Box::new(|g| g.nodes[3].kind = "LIF".into()),
            &["node `if1` (LIF)", "no `LIF` layer"],
        ),
        (
            "threshold",
            Box::new(|g| set(g, "if1", "v_threshold", Value::F32(vec![16], vec![2.0; 16]))),
            &["node `if1` (IF)", "threshold 1"],
        ),
        (
            "repeating",
            Box::new(|g| g.nodes[3].metadata.clear()),
            &["node `if1` (IF)", "--fire-once"],
        ),
        (
            "flatten",
            Box::new(|g| set(g, "flatten1", "start_dim", Value::I64(vec![], vec![1]))),
            &["node `flatten1` (Flatten)", "batch"],
        ),
        (
            "steps",
            Box::new(|g| g.metadata.retain(|m| m.0 != "time_steps")),
            &["--time-steps"],
        ),
        (
            "shape",
            Box::new(|g| set(g, "input", "shape", Value::I64(vec![3], vec![1, 28, 28]))),
            &["node `fc1` (Affine)", "784"],
        ),
        (
            "tail",
            Box::new(|g| {
                let mut extra = g.nodes[1].clone();
                extra.name = "extra".into();
                g.nodes.push(extra);
            }),
            &["extra", "not at an Output node"],
        ),
    ];
    for (name, edit, want) in &cases {
        let mut g = good.clone();
        edit(&mut g);
        let f = d.join(format!("{name}.nir"));
        std::fs::write(&f, ttfs::nir::to_bytes(&g).unwrap()).unwrap();
        let out = d.join(name).display().to_string();
        let o = ttfs(&["import", "nir", f.to_str().unwrap(), "--out", &out]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", text(&o));
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(e.lines().count(), 1, "{name}: {e}");
        for w in want.iter().chain([&f.to_str().unwrap()]) {
            assert!(e.contains(w), "{name}: {e}");
        }
    }
    // Not HDF5, and no file at all.
    let f = d.join("text.nir");
    std::fs::write(&f, "hello").unwrap();
    for (file, want) in [
        (f.to_str().unwrap(), "not an NIR file"),
        ("/nonexistent.nir", "cannot read"),
    ] {
        let out = d.join("x").display().to_string();
        let e = text(&ttfs(&["import", "nir", file, "--out", &out]));
        assert!(e.contains(file) && e.contains(want), "{e}");
    }
}
