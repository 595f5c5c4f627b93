//! The training data pipeline end to end: augmentation and background batch preparation give
//! bitwise the same training run as preparing each batch in line.

use ttfs::config::Config;
use ttfs::data::{digits, Dataset, Kind};
use ttfs::train::Trainer;

fn params(t: &mut Trainer) -> Vec<u32> {
    t.model
        .params_mut()
        .iter()
        .flat_map(|p| p.value.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
        .collect()
}

fn run(cfg: &Config, train: &Dataset, test: &Dataset) -> (Vec<u32>, Vec<u64>) {
    let mut t = Trainer::with_data(cfg, train.clone(), test.clone()).unwrap();
    let mut losses = Vec::new();
    for _ in 0..2 {
        let m = t.train_epoch(|_, _, _, _| {});
        losses.push(m.train_loss.to_bits());
    }
    (params(&mut t), losses)
}

#[test]
fn prefetch_and_augmentation_are_bitwise_identical_to_the_serial_path() {
    let s = digits::load().unwrap();
    let idx: Vec<usize> = (0..300).collect();
    let (train, test) = (s.train.subset(&idx), s.test.subset(&idx[..60]));
    let mut cfg = Config::default();
    cfg.model.spec = "fc32 if fc10".into();
    cfg.train.batch_size = 16;
    cfg.data.augment_flip = true;
    cfg.data.augment_crop = 1;
    cfg.data.prefetch = false;
    let serial = run(&cfg, &train, &test);
    cfg.data.prefetch = true;
    let parallel = run(&cfg, &train, &test);
    assert!(serial == parallel, "prefetching changed the training run");
    // Augmentation is really on: without it the run differs.
    cfg.data.augment_flip = false;
    cfg.data.augment_crop = 0;
    let plain = run(&cfg, &train, &test);
    assert!(plain != parallel);
}

#[test]
fn event_data_trains_with_shift_and_flip() {
    // A tiny synthetic event set: class = which half of the frame fires.
    let (t, c, h, w) = (4, 2, 6, 6);
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for i in 0..40 {
        let class = i % 2;
        for k in 0..t {
            for ch in 0..c {
                for y in 0..h {
                    for x in 0..w {
                        let on = (y < h / 2) == (class == 0) && (x + y + k + ch + i) % 3 == 0;
                        data.push(on as u8);
                    }
                }
            }
        }
        labels.push(class as u16);
    }
    let ds = Dataset {
        name: "events".into(),
        kind: Kind::Events,
        classes: 2,
        frame: [c, h, w],
        steps: t,
        scale: 1.0,
        data,
        labels,
    };
    let mut cfg = Config::default();
    cfg.model.spec = "fc16 if fc2".into();
    cfg.model.time_steps = t;
    cfg.train.batch_size = 8;
    cfg.data.augment_flip = true;
    cfg.data.augment_shift = 1;
    let a = run(&cfg, &ds, &ds);
    cfg.data.prefetch = false;
    assert!(run(&cfg, &ds, &ds) == a);
    cfg.data.augment_crop = 2;
    let e = Trainer::with_data(&cfg, ds.clone(), ds.clone())
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("augment_crop applies to images"),
        "{e}"
    );
}
