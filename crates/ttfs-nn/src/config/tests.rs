//! Tests of `config.rs`: overrides, unknown keys, plain-word errors, defaults.

mod overrides {
    use super::super::*;

    #[test]
    fn overrides_and_unknown_keys() {
        let c = Config::from_toml(
            "[optimizer]\nlr = 0.01\n",
            "t.toml",
            &["model.spec=fc100 if fc10".into(), "train.epochs=3".into()],
        )
        .unwrap();
        assert_eq!(c.optimizer.lr, 0.01);
        assert_eq!(c.model.spec, "fc100 if fc10");
        assert_eq!(c.train.epochs, 3);
        // A later override of the same key wins (the ablation example relies on it).
        let c = Config::from_toml(
            "",
            "t.toml",
            &[
                "model.spec=fc100 if fc10".into(),
                "model.spec=\"fc20 if fc10\"".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.model.spec, "fc20 if fc10");
        let e = format!(
            "{:#}",
            Config::from_toml("[optimizer]\nlrr = 0.01\n", "t.toml", &[]).unwrap_err()
        );
        assert!(
            e.contains("t.toml") && e.contains("lrr") && e.contains("lr"),
            "{e}"
        );
        let e = format!(
            "{:#}",
            Config::from_toml("", "t.toml", &["model.decoder.kind=foo".into()]).unwrap_err()
        );
        assert!(e.contains("foo"), "{e}");
        let round = Config::from_toml(&Config::default().to_toml(), "x", &[]).unwrap();
        assert_eq!(round, Config::default());
    }
}

mod error_tests {
    use super::super::*;

    fn err(text: &str, set: &[&str]) -> String {
        let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
        format!("{:#}", Config::from_toml(text, "x.toml", &set).unwrap_err())
    }

    #[test]
    fn unknown_keys_name_the_key_and_list_the_valid_ones() {
        let e = err("[optimizer]\nlrr = 0.1\n", &[]);
        assert!(e.contains("`optimizer.lrr`"), "{e}");
        assert!(e.contains("`lr`") && e.contains("`weight_decay`"), "{e}");
        let e = err("[model.decoder]\nwieghting = \"exp\"\n", &[]);
        assert!(e.contains("`model.decoder.wieghting`"), "{e}");
        assert!(e.contains("`weighting`") && e.contains("`scale`"), "{e}");
        let e = err("", &["trian.epochs=3"]);
        assert!(e.contains("`trian`") && e.contains("`train`"), "{e}");
        let e = err("", &["model.decoder.kindd=membrane"]);
        assert!(
            e.contains("`model.decoder.kindd`") && e.contains("--set model.decoder.kindd"),
            "{e}"
        );
        assert!(e.contains("`kind`"), "{e}");
        let e = err("", &["train.epochs=abc"]);
        assert!(
            e.contains("train.epochs") && e.contains("got \"abc\", expected a whole number"),
            "{e}"
        );
        let e = err("", &["optimizer.lr=fast"]);
        assert!(e.contains("expected a number") && !e.contains("f32"), "{e}");
        let e = err("[train]\nepochs = 1.5\n", &[]);
        assert!(e.contains("got 1.5, expected a whole number"), "{e}");
        let e = err("[train]\nepochs = \n", &[]);
        assert!(
            e.contains("x.toml: invalid TOML at line 2, column 10") && !e.contains('\n'),
            "{e}"
        );
        let e = err("", &["model.decoder.kind=foo"]);
        assert!(e.contains("`membrane`") && e.contains("`temporal`"), "{e}");
    }

    #[test]
    fn out_of_range_values_name_the_key() {
        for bad in ["1.0", "-0.1"] {
            let e = err("", &[&format!("train.label_smoothing={bad}")]);
            assert!(e.contains("train.label_smoothing must be in [0, 1)"), "{e}");
        }
        let e = err("[optimizer]\nlr = 0.0\n", &[]);
        assert!(e.contains("optimizer.lr must be positive"), "{e}");
    }

    /// The sparse backward's bands: refused when not positive, naming the key; one band per
    /// spiking layer, checked when the model is built; recorded in a run's config.toml.
    #[test]
    fn band_keys_are_checked_and_recorded() {
        for bad in ["0", "-0.5", "nan"] {
            let e = err("", &[&format!("model.band={bad}")]);
            assert!(e.contains("model.band must be positive"), "{e}");
            let e = err("", &[&format!("model.layer_bands=[0.5, {bad}]")]);
            assert!(e.contains("model.layer_bands must all be positive"), "{e}");
        }
        let d = Config::default();
        assert_eq!((d.model.band, d.model.layer_bands.len()), (None, 0));
        let set = [
            "model.band=0.25".to_string(),
            "model.layer_bands=[0.5, inf]".into(),
        ];
        let c = Config::from_toml("", "x", &set).unwrap();
        let text = c.to_toml();
        assert!(text.contains("band = 0.25"), "{text}");
        assert_eq!(Config::from_toml(&text, "x", &[]).unwrap(), c);
        let mut rng = crate::rng::Rng::new(1);
        let e = crate::model::Model::new(&c.model, &[64], &mut rng)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap();
        assert!(
            e.contains("model.layer_bands has 2 bands but model.spec has 1 spiking layers"),
            "{e}"
        );
        let one = Config::from_toml("", "x", &["model.layer_bands=[0.5]".into()]).unwrap();
        let m = crate::model::Model::new(&one.model, &[64], &mut rng).unwrap();
        let bands: Vec<String> = m
            .layers
            .iter()
            .filter(|l| l.is_neuron())
            .map(|l| l.describe())
            .collect();
        assert!(
            bands.len() == 1 && bands[0].contains("band 0.5"),
            "{bands:?}"
        );
    }

    #[test]
    fn output_layer_and_aux_loss_keys_are_checked_and_recorded() {
        for bad in ["0", "-1", "nan"] {
            let e = err("", &[&format!("model.output_alpha={bad}")]);
            assert!(e.contains("model.output_alpha must be positive"), "{e}");
            let e = err("", &[&format!("model.output_init_gain={bad}")]);
            assert!(e.contains("model.output_init_gain must be positive"), "{e}");
        }
        let e = err("", &["train.aux_membrane_loss=-0.5"]);
        assert!(
            e.contains("train.aux_membrane_loss must be 0 (off) or positive"),
            "{e}"
        );
        let e = err(
            "",
            &[
                "train.aux_membrane_loss=1",
                "model.decoder.kind=\"membrane\"",
            ],
        );
        assert!(e.contains("already \"membrane\""), "{e}");
        // Absent means "as the hidden layers"; set, they are written to a run's config.toml.
        let d = Config::default();
        assert_eq!(
            (d.model.output_alpha, d.model.output_init_gain),
            (None, None)
        );
        assert_eq!(d.train.aux_membrane_loss, 0.0);
        let set: Vec<String> = [
            "model.output_alpha=2",
            "model.output_init_gain=0.7",
            "train.aux_membrane_loss=0.5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let c = Config::from_toml("", "x", &set).unwrap();
        let text = c.to_toml();
        assert!(text.contains("output_alpha = 2"), "{text}");
        assert!(text.contains("output_init_gain = 0.7"), "{text}");
        assert!(text.contains("aux_membrane_loss = 0.5"), "{text}");
        assert_eq!(Config::from_toml(&text, "x", &[]).unwrap(), c);
    }
}

mod default_tests {
    use super::super::*;

    #[test]
    fn event_data_sets_default_to_a_wide_surrogate_unless_set() {
        let c = |o: &[&str]| {
            let o: Vec<String> = o.iter().map(|s| s.to_string()).collect();
            Config::from_toml("", "t", &o).unwrap().model.alpha
        };
        assert_eq!(c(&[]), ModelConfig::default().alpha);
        assert_eq!(c(&["data.name=\"n-mnist\""]), EVENT_DATA_ALPHA);
        assert_eq!(c(&["data.name=\"dvs-gesture\""]), EVENT_DATA_ALPHA);
        assert_eq!(c(&["data.name=\"n-mnist\"", "model.alpha=8"]), 8.0);
        assert_eq!(c(&["data.name=\"mnist\""]), ModelConfig::default().alpha);
    }

    #[test]
    fn a_decoder_table_given_in_part_keeps_the_default_scale() {
        let o = vec!["model.decoder.kind=\"membrane\"".to_string()];
        let cfg = Config::from_toml("", "t", &o).unwrap();
        assert_eq!(
            cfg.model.decoder.scale,
            ModelConfig::default().decoder.scale
        );
    }
}
