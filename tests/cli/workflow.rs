//! A run directory through every command: `train` writes it, `eval` (both engines), `export
//! nir`, `info --run` and `plot` read it.

use crate::common::{text, ttfs};
use crate::helpers::{tmp, TINY};
use ttfs::config::Config;
use ttfs::run_dir::CSV_HEADER;

#[test]
fn run_directory_metrics_eval_and_plots() {
    let dir = tmp("run");
    let out = dir.join("r");
    let mut args: Vec<&str> = vec!["train", "--epochs", "2", "--out", out.to_str().unwrap()];
    args.extend_from_slice(TINY);
    let o = ttfs(&args);
    assert!(o.status.success(), "{}", text(&o));
    for f in [
        "config.toml",
        "command.txt",
        "metrics.jsonl",
        "metrics.csv",
        "eval.json",
        "last.safetensors",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // Without a validation split each epoch is evaluated on the test split, which must not
    // choose a checkpoint: no best.safetensors, and eval reads last.safetensors and says why.
    assert!(!out.join("best.safetensors").exists());
    // The stored config is complete and loads back.
    let cfg = Config::load(Some(&out.join("config.toml")), &[]).unwrap();
    assert_eq!(cfg.model.spec, "fc24 if fc10");
    let cmd = std::fs::read_to_string(out.join("command.txt")).unwrap();
    for k in ["command: ", "ttfs: ", "git: ", "threads: 1", "host: "] {
        assert!(cmd.contains(k), "{k} missing in {cmd}");
    }
    // JSON lines: every line an object with the epoch's metrics.
    let jsonl = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["epoch"].as_u64(), Some(i as u64 + 1));
        assert!(l["train_loss"].as_f64().unwrap().is_finite());
        assert!(l["eval"]["accuracy"].as_f64().unwrap() > 0.0);
        assert_eq!(l["eval"]["accuracy_at"].as_array().unwrap().len(), 8);
        assert!(l["step"].as_u64().unwrap() > 0);
    }
    // CSV: the header, then one row per epoch with a number in every numeric column.
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let mut rows = csv.lines();
    assert_eq!(rows.next(), Some(CSV_HEADER));
    let header: Vec<&str> = CSV_HEADER.split(',').collect();
    let rows: Vec<&str> = rows.collect();
    assert_eq!(rows.len(), 2);
    for r in rows {
        let cells: Vec<&str> = r.split(',').collect();
        assert_eq!(cells.len(), header.len(), "{r}");
        for (h, c) in header.iter().zip(&cells) {
            if *h != "eval_split" {
                assert!(c.parse::<f64>().is_ok(), "{h} = {c} is not a number");
            }
        }
    }
    // eval prints the report.
    let o = ttfs(&["eval", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("no best.safetensors") && s.contains("no validation split"),
        "{s}"
    );
    for k in [
        "accuracy",
        "spikes/neuron",
        "mean first output spike",
        "decision time",
    ] {
        assert!(s.contains(k), "{k} missing in {s}");
    }
    // ... with the synaptic operations and energy, and the early exit.
    for k in [
        "synaptic operations per sample",
        "0.9 pJ/AC and 4.6 pJ/MAC",
        "the ANN:",
        "early exit",
    ] {
        assert!(s.contains(k), "{k} missing in {s}");
    }
    // The event-driven engine classifies every sample as the dense pass does.
    let o = ttfs(&["eval", out.to_str().unwrap(), "--engine", "events"]);
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    let acc = |prefix: &str| -> String {
        let line = s
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap();
        line.split("accuracy ").nth(1).unwrap()[..6].to_string()
    };
    assert_eq!(acc("dense"), acc("event-driven, all"), "{s}");
    assert!(s.contains("samples/s"), "{s}");
    // NIR export, and its errors.
    let nir = out.join("model.nir");
    let o = ttfs(&[
        "export",
        "nir",
        out.to_str().unwrap(),
        nir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(&std::fs::read(&nir).unwrap()[..8], b"\x89HDF\r\n\x1a\n");
    let o = ttfs(&["export", "nir", "/nonexistent/run", nir.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.starts_with("error: ") && e.contains("does not exist") && e.lines().count() == 1,
        "{e}"
    );
    // info with the run's measured rates.
    let o = ttfs(&["info", "--run", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("synaptic operations"));
    // plot writes PNGs and SVGs.
    let o = ttfs(&["plot", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    for n in [
        "curves",
        "curves_hours",
        "first_spike_hist",
        "accuracy_vs_time",
        "raster",
    ] {
        let png = std::fs::read(out.join("plots").join(format!("{n}.png"))).unwrap();
        assert_eq!(&png[..4], b"\x89PNG", "{n}.png");
        let svg = std::fs::read_to_string(out.join("plots").join(format!("{n}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{n}.svg");
    }
    // A second run into the same directory is refused.
    let o = ttfs(&args);
    assert!(!o.status.success());
    assert!(text(&o).contains("--resume"), "{}", text(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}
