//! Incremental time steps (`schedule.time_steps`), as the successor of the ETTFS paper
//! trains: the first epochs at a small T, then the model's own T, with the same weights. On
//! the CPU a step at T = 1 costs about half of one at T = 4 on the CIFAR-10 VGG: every product
//! is one dense frame. A step at T = 2 costs about what one at T = 4 does (its forward and
//! weight gradient run dense over two frames; at T = 4 they take the event path). At equal
//! training time growing from T = 1 did not pay on that VGG: 5.4 points below T = 4
//! throughout at reduced scale (docs/results/cifar10.md).

use super::Trainer;
use crate::model::Model;
use crate::rng::Rng;

impl Trainer {
    /// Incremental time steps (`schedule.time_steps`): before epoch `self.epoch`, rebuild the
    /// model at that epoch's T with the same weights when it differs from the model's T now.
    /// Returns the T before and after, when it changed.
    pub fn enter_stage(&mut self) -> Option<(usize, usize)> {
        let now = self.model.cfg.time_steps;
        let t = self
            .cfg
            .schedule
            .time_steps_at(self.epoch, self.cfg.model.time_steps);
        if t == now {
            return None;
        }
        // Every stage's config and sizes were checked when the trainer was built.
        let cfg = self.cfg.model.at_time_steps(t).expect("checked stage");
        let mut model = Model::new(&cfg, &self.model.frames[0], &mut Rng::new(0))
            .expect("a stage's model was built once when the trainer was");
        model
            .to_device(self.cfg.train.device)
            .expect("the device holds the model already");
        for (to, from) in model.params_mut().into_iter().zip(self.model.params()) {
            to.value.write(&from.value.to_vec());
        }
        self.model = model;
        self.input.time_steps = t;
        Some((now, t))
    }
}

#[cfg(test)]
mod tests {
    use crate::checkpoint::{params_of, Checkpoint};
    use crate::config::Config;
    use crate::ettfs_init::Init;
    use crate::model::Model;
    use crate::rng::Rng;
    use crate::train::{EpochProgress, Trainer};
    use crate::weight_norm::Norm;

    /// The folded weights of every layer, flattened.
    fn weights(m: &mut Model) -> Vec<f32> {
        let mut out = Vec::new();
        for l in m.layers.iter_mut() {
            match l.plain() {
                crate::layers::Plain::Linear { w, b, .. }
                | crate::layers::Plain::Conv { w, b, .. } => {
                    out.extend(w);
                    out.extend(b);
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn a_model_at_another_t_has_the_same_weights() {
        for norm in [Norm::None, Norm::Weight, Norm::WeightAffine] {
            for init in [Init::Ettfs, Init::Kaiming] {
                for gains in [vec![], vec![0.7, 1.3, 0.2]] {
                    let mut cfg = Config::default().model;
                    cfg.spec = "conv4k3p1 if ap2 fc12 if fc10".into();
                    (cfg.norm, cfg.init, cfg.time_steps) = (norm, init, 4);
                    cfg.synapse_gains = gains.clone();
                    let small = cfg.at_time_steps(1).unwrap();
                    if init == Init::Ettfs && norm != Norm::None {
                        // the gains carry the initialization's sqrt(T) scale
                        assert_eq!(small.synapse_gains.len(), 3);
                        assert!(
                            (small.synapse_gains[1] / cfg.synapse_gain(1, 3) - 2.0).abs() < 1e-6
                        );
                    }
                    let frame = [1, 8, 8];
                    let mut a = Model::new(&small, &frame, &mut Rng::new(3)).unwrap();
                    let mut b = Model::new(&cfg, &frame, &mut Rng::new(4)).unwrap();
                    // trained-looking parameters, not the initial ones
                    let mut rng = Rng::new(5);
                    for p in a.params_mut() {
                        let v: Vec<f32> = p
                            .value
                            .to_vec()
                            .iter()
                            .map(|x| x + 0.1 * rng.normal())
                            .collect();
                        p.value.write(&v);
                    }
                    for (to, from) in b.params_mut().into_iter().zip(a.params()) {
                        to.value.write(&from.value.to_vec());
                    }
                    let (wa, wb) = (weights(&mut a), weights(&mut b));
                    assert_eq!(wa.len(), wb.len());
                    for (x, y) in wa.iter().zip(&wb) {
                        assert!(
                            (x - y).abs() <= 1e-5 * (1.0 + x.abs()),
                            "{norm:?} {init:?} {gains:?}: {x} vs {y}"
                        );
                    }
                    // and back to the model's own T: the gains it started with
                    let back = small.at_time_steps(4).unwrap();
                    for i in 0..3 {
                        let (g, h) = (back.synapse_gain(i, 3), cfg.synapse_gain(i, 3));
                        assert!((g - h).abs() <= 1e-6 * h, "synapse {i}: {g} vs {h}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_run_grows_its_time_steps_and_resumes_bitwise() {
        let sets = [
            "model.spec=\"fc24 if fc10\"",
            "model.time_steps=3",
            "model.init_firing=0.3",
            "schedule.time_steps=[[0, 1], [1, 3]]",
            "train.epochs=2",
        ]
        .map(String::from);
        let cfg = Config::from_toml("", "t", &sets).unwrap();
        let mut tr = Trainer::new(&cfg).unwrap();
        assert_eq!((tr.model.cfg.time_steps, tr.input.time_steps), (1, 1));
        // the calibrated gains are stored as the gains at the model's own T
        assert_eq!(tr.cfg.model.time_steps, 3);
        assert_eq!(tr.cfg.model.synapse_gains.len(), 2);
        let first = tr.train_epoch(|_, _, _, _| {});
        assert_eq!(tr.model.cfg.time_steps, 1);
        let ck = Checkpoint::capture(&tr, EpochProgress::default(), first.eval.accuracy);
        let before = params_of(&tr.model);
        assert_eq!(tr.enter_stage(), Some((1, 3)));
        assert_eq!((tr.model.cfg.time_steps, tr.input.time_steps), (3, 3));
        assert_eq!(params_of(&tr.model), before, "growing keeps the parameters");
        let second = tr.train_epoch(|_, _, _, _| {});
        assert_eq!((first.time_steps, second.time_steps), (1, 3));
        // a run resumed from the end of the first epoch ends where the uninterrupted one did
        let bytes = ck.to_bytes().unwrap();
        let back = Checkpoint::from_bytes(&bytes, "x").unwrap();
        let mut again = Trainer::new(&back.config).unwrap();
        back.restore(&mut again).unwrap();
        again.train_epoch(|_, _, _, _| {});
        assert_eq!(again.model.cfg.time_steps, 3);
        assert_eq!(params_of(&again.model), params_of(&tr.model));
    }

    #[test]
    fn stages_that_contradict_the_run_are_refused() {
        let err = |sets: &[&str]| {
            let mut all = vec![
                "model.spec=\"fc24 if fc10\"".to_string(),
                "model.time_steps=3".into(),
                "train.epochs=4".into(),
            ];
            all.extend(sets.iter().map(|s| s.to_string()));
            format!("{:#}", Config::from_toml("", "t", &all).unwrap_err())
        };
        for (sets, says) in [
            (
                &["schedule.time_steps=[[1, 1], [2, 3]]"][..],
                "must start at epoch 0",
            ),
            (
                &["schedule.time_steps=[[0, 1], [2, 2], [2, 3]]"],
                "must increase",
            ),
            (&["schedule.time_steps=[[0, 0], [2, 3]]"], "0 time steps"),
            (
                &["schedule.time_steps=[[0, 1], [2, 4]]"],
                "ends at T = 4 but model.time_steps = 3",
            ),
            (
                &["schedule.time_steps=[[0, 1], [4, 3]]"],
                "would never train",
            ),
            (
                &["schedule.time_steps=[[0, 1], [2, 3]]", "data.frames=3"],
                "data.frames",
            ),
        ] {
            let e = err(sets);
            assert!(
                e.contains("schedule.time_steps") && e.contains(says),
                "{sets:?}: {e}"
            );
        }
    }
}
