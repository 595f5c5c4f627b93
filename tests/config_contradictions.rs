//! Settings that contradict each other are refused when the config is loaded (or, for sizes of
//! the data, when the data set is), with one line that names both keys.

use std::process::Command;
use ttfs::config::Config;
use ttfs::train::Trainer;

const BIN: &str = env!("CARGO_BIN_EXE_ttfs");

fn load(set: &[&str]) -> anyhow::Result<Config> {
    let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
    Config::from_toml("", "x.toml", &set)
}

fn refused(set: &[&str]) -> String {
    let e = format!("{:#}", load(set).unwrap_err());
    assert!(!e.contains('\n'), "{e}");
    e
}

fn assert_names(e: &str, keys: &[&str]) {
    for k in keys {
        assert!(e.contains(k), "`{k}` not named in: {e}");
    }
}

#[test]
fn contradicting_pairs_are_one_line_naming_both_keys() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["schedule.min_lr=90", "train.epochs=3"],
            &[
                "schedule.min_lr = 90",
                "optimizer.lr = 0.003",
                "raise the learning rate",
            ],
        ),
        (
            &["schedule.kind=constant", "schedule.min_lr=0.001"],
            &["schedule.min_lr = 0.001", "schedule.kind = \"constant\""],
        ),
        (
            &[
                "schedule.kind=step",
                "schedule.step_epochs=5",
                "train.epochs=5",
            ],
            &["schedule.step_epochs = 5", "train.epochs = 5"],
        ),
        (
            &["schedule.warmup_epochs=3", "train.epochs=3"],
            &["schedule.warmup_epochs = 3", "train.epochs = 3"],
        ),
        (
            &["optimizer.nesterov=true"],
            &["optimizer.nesterov", "optimizer.kind = \"sgd\"", "\"adam\""],
        ),
        (
            &["model.decoder.kind=membrane", "model.output_alpha=2"],
            &["model.output_alpha", "model.decoder.kind = \"membrane\""],
        ),
        (
            &["data.frames=10"],
            &["data.frames = 10", "model.time_steps = 8"],
        ),
        (
            &["data.normalize_mean=[0.5]"],
            &["data.normalize_mean has 1 values", "data.normalize_std 0"],
        ),
        (
            &[
                "data.normalize_mean=[0.5]",
                "data.normalize_std=[0.2]",
                "model.encoding=latency",
            ],
            &["data.normalize_mean/std", "model.encoding = \"direct\""],
        ),
        (
            &["data.coarse_labels=true"],
            &[
                "data.coarse_labels",
                "data.name = \"cifar100\"",
                "\"digits\"",
            ],
        ),
    ];
    for (set, want) in cases {
        let e = refused(set);
        eprintln!("{set:?}\n  -> {e}");
        assert!(e.starts_with("x.toml: invalid configuration: "), "{e}");
        assert_names(&e, want);
    }
    // Each alone, or the pair set consistently, is fine.
    for ok in [
        &["schedule.min_lr=0.001"][..],
        &["schedule.warmup_epochs=2", "train.epochs=3"],
        &["optimizer.kind=sgd", "optimizer.nesterov=true"],
        &["model.output_alpha=2"],
        &["data.frames=8"],
        &["data.name=cifar100", "data.coarse_labels=true"],
        &[
            "schedule.kind=step",
            "schedule.step_epochs=5",
            "train.epochs=12",
        ],
    ] {
        load(ok).unwrap_or_else(|e| panic!("{ok:?}: {e:#}"));
    }
}

#[test]
fn out_of_range_schedule_and_optimizer_keys_are_named() {
    for (set, want) in [
        (
            "schedule.min_lr=-1",
            "schedule.min_lr must be 0 or positive, got -1",
        ),
        (
            "schedule.warmup_epochs=nan",
            "schedule.warmup_epochs must be 0 or positive",
        ),
        (
            "optimizer.beta2=1",
            "optimizer.beta2 must be in [0, 1), got 1",
        ),
        ("optimizer.eps=0", "optimizer.eps must be positive"),
        ("schedule.gamma=0", "schedule.gamma must be positive"),
        (
            "optimizer.clip_grad_norm=-1",
            "optimizer.clip_grad_norm must be 0 or positive",
        ),
    ] {
        let e = refused(&[set]);
        assert!(e.contains(want), "{set}: {e}");
    }
}

/// What depends on the data set's size is checked when it is loaded, before any training.
#[test]
fn batch_and_validation_sizes_against_the_training_samples() {
    let trainer = |set: &[&str]| {
        let cfg = load(set).unwrap();
        format!("{:#}", Trainer::new(&cfg).err().expect("refused"))
    };
    let e = trainer(&["train.batch_size=2000"]);
    assert_names(
        &e,
        &[
            "train.batch_size = 2000",
            "1437 training samples",
            "training split of digits",
        ],
    );
    let e = trainer(&["data.train_samples=50", "train.batch_size=64"]);
    assert_names(
        &e,
        &[
            "train.batch_size = 64",
            "50 training samples",
            "data.train_samples = 50",
        ],
    );
    let e = trainer(&["data.validation=1400", "train.batch_size=64"]);
    assert_names(
        &e,
        &[
            "train.batch_size = 64",
            "37 training samples",
            "data.validation = 1400",
        ],
    );
    let e = trainer(&["data.validation=1437"]);
    assert_names(
        &e,
        &["data.validation = 1437", "leaves no samples", "has 1437"],
    );
    let e = trainer(&["data.validation=1000", "data.train_samples=500"]);
    assert_names(
        &e,
        &["data.validation = 1000", "data.train_samples = 500", "1437"],
    );
    assert!(!e.contains('\n'), "{e}");
    // Keys of event data against images (the kind of the data loaded, whatever its name).
    let e = trainer(&["data.resolution=32"]);
    assert_names(&e, &["data.resolution = 32", "data.name = \"digits\""]);
    let e = trainer(&["data.augment_shift=2"]);
    assert_names(&e, &["data.augment_shift", "data.augment_crop"]);
}

/// The run: refused at once, before a run directory is created.
#[test]
fn the_command_line_refuses_a_min_lr_above_the_learning_rate() {
    let dir = std::env::temp_dir().join(format!("ttfs-contra-{}", std::process::id()));
    let o = Command::new(BIN)
        .args([
            "train",
            "--set",
            "schedule.min_lr=90",
            "--epochs",
            "3",
            "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert_names(&e, &["schedule.min_lr = 90", "optimizer.lr = 0.003"]);
    assert!(!dir.exists(), "a refused config left a run directory");
}
