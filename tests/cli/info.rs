//! `ttfs info`: a data set's geometry is known without its files.

use crate::common::{text, ttfs};
use std::path::Path;
use ttfs::config::Config;

#[test]
fn info_knows_each_data_sets_geometry_without_its_files() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    for (name, frame, decoder) in [
        (
            "cifar10",
            [3, 32, 32],
            "decoder membrane: non-spiking output",
        ),
        (
            "dvs-gesture",
            [2, 32, 32],
            "decoder temporal: fire-once output neurons",
        ),
    ] {
        let p = configs.join(format!("{name}.toml"));
        let o = ttfs(&[
            "info",
            "--config",
            p.to_str().unwrap(),
            "--data-dir",
            "/nonexistent",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let s = String::from_utf8_lossy(&o.stdout);
        assert!(s.contains(&format!("input {frame:?}")), "{name}: {s}");
        let cfg = Config::load(Some(&p), &[]).unwrap();
        let model =
            ttfs::model::Model::new(&cfg.model, &frame, &mut ttfs::rng::Rng::new(0)).unwrap();
        assert!(
            s.contains(&format!("total: {} parameters", model.num_params())),
            "{name}: {s}"
        );
        assert!(s.contains(decoder) && !s.contains("DecoderConfig"), "{s}");
    }
}
