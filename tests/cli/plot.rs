//! `ttfs plot` of a sparse network: what each plot shows is said on it.

use crate::common::{text, ttfs};
use crate::helpers::tmp;
use ttfs::run_dir::RunDir;

#[test]
fn plots_of_a_sparse_network_say_what_they_show() {
    let dir = tmp("plots");
    let out = dir.join("r");
    let o = ttfs(&[
        "train",
        "--epochs",
        "2",
        "--quiet",
        "--threads",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "model.spec=fc1024 if fc10",
        "--set",
        "model.init_gain=0.6",
        "--set",
        "model.decoder.kind=membrane",
        "--set",
        "model.decoder.scale=10",
        "--set",
        "data.validation=300",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = ttfs(&["plot", out.to_str().unwrap(), "--sample", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let svg =
        |n: &str| std::fs::read_to_string(out.join("plots").join(format!("{n}.svg"))).unwrap();
    let best =
        ttfs::plot::best_epoch(&RunDir::open(&out).unwrap().read_metrics().unwrap()).unwrap();
    assert!(svg("curves").contains(&format!("best validation: epoch {}", best.0)));
    // The never-fired share as a number; panels named as everywhere (`layer_names.rs`), the
    // raster's with the synapse whose spikes they are.
    let h = svg("first_spike_hist");
    assert!(
        h.contains("if1 (spikes): ") && h.contains("% never fired"),
        "{h}"
    );
    // The raster: which sample, the fired neurons in order, how many are left out.
    let r = svg("raster");
    assert!(r.contains("Spikes of test sample 2: label"), "raster title");
    let line = r
        .lines()
        .find(|l| l.starts_with("if1 (fc1): "))
        .expect("if1 panel");
    assert!(
        line.contains("units fired, by first spike") && line.contains("silent"),
        "{line}"
    );
    if !line.contains("more not shown") {
        let fired: usize = line["if1 (fc1): ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(fired <= ttfs::plot::RASTER_UNITS, "{line}");
    }
    // The output potentials have a legend naming the true class.
    assert!(
        r.contains("(true") && r.contains("other classes"),
        "no legend"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
