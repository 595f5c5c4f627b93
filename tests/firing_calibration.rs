//! The initialization's firing calibration (`model.init_firing`, crates/ttfs-nn/src/firing_calibration.rs):
//! a deep net that is silent with its configured gain fires at the chosen fraction in every
//! layer, the gains land in the run's config, and that config rebuilds the same model.

mod common;

use std::process::Command;
use ttfs::config::Config;
use ttfs::data::batch::InputSpec;
use ttfs::firing_calibration::{calibrate, firing_fractions, first_batch};
use ttfs::model::Model;
use ttfs::rng::Rng;
use ttfs::train::Trainer;

/// Six spiking layers with a gain far too small: everything above the first layer is silent.
const DEEP: &str = "fc64 if fc64 if fc64 if fc64 if fc64 if fc64 if fc10";

fn config(extra: &[&str]) -> Config {
    try_config(extra).unwrap()
}

fn try_config(extra: &[&str]) -> anyhow::Result<Config> {
    let mut set: Vec<String> = vec![
        format!("model.spec=\"{DEEP}\""),
        "model.init_gain=0.05".into(),
        "model.encoding=\"latency\"".into(),
        "train.batch_size=128".into(),
    ];
    set.extend(extra.iter().map(|s| s.to_string()));
    Config::from_toml("", "test", &set)
}

/// A model of `cfg` and the encoded first `batch` training digits.
fn model_and_batch(cfg: &Config) -> (Model, ttfs::tensor::Tensor) {
    let splits = ttfs::data::load("digits", None).unwrap();
    let mut model = Model::new(&cfg.model, &splits.train.frame, &mut Rng::new(0)).unwrap();
    let input = InputSpec {
        encoding: cfg.model.encoding,
        zero: cfg.model.zero_input,
        time_steps: cfg.model.time_steps,
        normalize: None,
    };
    let batch = first_batch(&mut model, &splits.train, &input, cfg.train.batch_size);
    (model, batch)
}

fn fractions(model: &mut Model, batch: &ttfs::tensor::Tensor) -> Vec<(String, f64)> {
    *model.input_mut() = batch.clone();
    model.forward();
    firing_fractions(model)
}

#[test]
fn every_layer_of_a_silent_deep_net_fires_at_the_chosen_fraction() {
    for decoder in ["temporal", "membrane"] {
        let cfg = config(&[&format!("model.decoder.kind=\"{decoder}\"")]);
        let (mut model, batch) = model_and_batch(&cfg);
        let before = fractions(&mut model, &batch);
        assert!(
            before.iter().filter(|(_, f)| *f == 0.0).count() >= 4,
            "the uncalibrated net should be silent from its second layer on: {before:?}"
        );
        // (Above about 0.7 the target is out of reach here: a neuron whose running potential
        // never turns positive fires at no gain, and calibration stops at 95% of those that do.)
        for target in [0.2f32, 0.5] {
            let (mut model, batch) = model_and_batch(&cfg);
            let (gains, report) = calibrate(&mut model, &batch, target).unwrap();
            assert_eq!(gains.len(), 7, "{decoder}: one gain per synapse");
            let after = fractions(&mut model, &batch);
            assert_eq!(after.len(), if decoder == "temporal" { 7 } else { 6 });
            for (name, f) in &after {
                assert!(
                    (f - target as f64).abs() < 0.03,
                    "{decoder}, target {target}: {name} fires at {f} ({after:?}, {report:?})"
                );
            }
            if decoder == "membrane" {
                // The readout's logits start at unit spread.
                let l = model.logits.data.to_vec();
                let mean = l.iter().sum::<f32>() / l.len() as f32;
                let var = l.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / l.len() as f32;
                assert!((var.sqrt() - 1.0).abs() < 0.01, "logit std {}", var.sqrt());
            }
        }
    }
}

#[test]
fn the_gains_go_into_the_config_and_rebuild_the_same_model() {
    let cfg = config(&["model.init_firing=0.5"]);
    let splits = ttfs::data::load("digits", None).unwrap();
    let mut tr = Trainer::with_data(&cfg, splits.train.clone(), splits.test).unwrap();
    let gains = tr.cfg.model.synapse_gains.clone();
    assert_eq!(gains.len(), 7);
    assert!(
        gains.iter().all(|&g| g > 0.05),
        "every gain grew from 0.05: {gains:?}"
    );
    assert_eq!(tr.calibration.len(), 7);
    // The stored config, through its text (as a run directory and a checkpoint keep it),
    // builds the same effective weights; and it is not calibrated again.
    let text = tr.cfg.to_toml();
    let again = Config::from_toml(&text, "stored", &[]).unwrap();
    assert_eq!(again.model.synapse_gains, gains);
    let mut rebuilt = Model::new(
        &again.model,
        &splits.train.frame,
        &mut Rng::new(cfg.train.seed),
    )
    .unwrap();
    for (a, b) in tr.model.layers.iter_mut().zip(rebuilt.layers.iter_mut()) {
        assert_eq!(a.plain(), b.plain());
    }
    let tr2 = Trainer::with_data(
        &again,
        splits.train,
        ttfs::data::load("digits", None).unwrap().test,
    )
    .unwrap();
    assert!(
        tr2.calibration.is_empty(),
        "stored gains are used as they are"
    );
    let f = tr.firing_at_start();
    assert!(f.iter().all(|(_, f)| (f - 0.5).abs() < 0.05), "{f:?}");
}

#[test]
fn bad_settings_are_refused_in_plain_words() {
    for (set, want) in [
        (
            "model.init_firing=1.5",
            "model.init_firing must be a fraction of neurons between 0 and 1",
        ),
        (
            "model.init_firing=0",
            "model.init_firing must be a fraction",
        ),
        (
            "model.synapse_gains=[1.0, -2.0]",
            "model.synapse_gains must all be positive",
        ),
    ] {
        let e = format!("{:#}", try_config(&[set]).unwrap_err());
        assert!(e.contains(want), "{set}: {e}");
    }
    let cfg = config(&["model.synapse_gains=[1.0, 2.0]"]);
    let e = Model::new(&cfg.model, &[64], &mut Rng::new(0))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("model.synapse_gains has 2 gains but the spec has 7 synapses"),
        "{e}"
    );
}

#[test]
fn the_cli_reports_firing_before_the_first_epoch() {
    let bin = env!("CARGO_BIN_EXE_ttfs");
    let dir = common::tmp("test", "firing-cli");
    let run = |name: &str, extra: &[&str]| {
        let mut args = vec![
            "train".to_string(),
            "--epochs".into(),
            "1".into(),
            "--threads".into(),
            "1".into(),
            "--out".into(),
            dir.join(name).display().to_string(),
            "--set".into(),
            format!("model.spec=\"{DEEP}\""),
            "--set".into(),
            "model.init_gain=0.05".into(),
            "--set".into(),
            "model.encoding=\"latency\"".into(),
        ];
        for e in extra {
            args.extend(["--set".to_string(), e.to_string()]);
        }
        let o = Command::new(bin).args(&args).output().unwrap();
        String::from_utf8_lossy(&o.stderr).to_string() + &String::from_utf8_lossy(&o.stdout)
    };
    let silent = run("silent", &[]);
    let warn = silent
        .find("fires on the first training batch")
        .expect(&silent);
    let epoch = silent.find("epoch   1/1").expect(&silent);
    assert!(
        warn < epoch,
        "the warning comes before the first epoch:\n{silent}"
    );
    assert!(silent.contains("Set model.init_firing = 0.5"), "{silent}");
    let alive = run("alive", &["model.init_firing=0.5"]);
    assert!(
        alive.contains("synapse gains calibrated on the first batch"),
        "{alive}"
    );
    assert!(
        !alive.contains("fires on the first training batch"),
        "{alive}"
    );
    let stored = std::fs::read_to_string(dir.join("alive").join("config.toml")).unwrap();
    assert!(stored.contains("synapse_gains = ["), "{stored}");
}
