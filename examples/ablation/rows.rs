//! The two row sets of the ablation: the paper's four components, and the study of why the
//! temporal decoder trails the membrane readout. Each row is a name and its `--set` overrides.

pub const AVG: &str = "conv32k3p1 ap2 if conv64k3p1 ap2 if fc10";
/// The pooling rows override the spec (a later `--set` of a key replaces an earlier one).
const MAX_SPIKES: &str = "model.spec=\"conv32k3p1 if mp2 conv64k3p1 if mp2 fc10\"";
/// Max pooling in TTFS form: only the earliest spike of each window passes (`fp2`).
const FIRST_SPIKES: &str = "model.spec=\"conv32k3p1 if fp2 conv64k3p1 if fp2 fc10\"";

/// A row of the table: a name and the overrides that make it.
pub type Row = (&'static str, Vec<&'static str>);

/// The rows of the set `set` (`components` or `decoder`).
pub fn rows(set: &str) -> anyhow::Result<Vec<Row>> {
    match set {
        "components" => Ok(component_rows()),
        "decoder" => Ok(decoder_rows()),
        _ => anyhow::bail!("ROWS is `components` or `decoder`, not {set:?}"),
    }
}

/// The temporal decoder with exponential weights summing to 40 (the full method's).
const EXP: [&str; 3] = [
    "model.decoder.kind=\"temporal\"",
    "model.decoder.weighting=\"exp\"",
    "model.decoder.scale=40",
];

/// The decoder study: one change from the full method per row (a later `--set` of a key
/// replaces the earlier one), the membrane readout as reference.
fn decoder_rows() -> Vec<Row> {
    let exp = |extra: &[&'static str]| -> Vec<&'static str> {
        EXP.iter().chain(extra).copied().collect()
    };
    vec![
        ("temporal exp, scale 40, alpha 8 (full method)", exp(&[])),
        (
            "membrane decoder (scale 10)",
            vec!["model.decoder.kind=\"membrane\"", "model.decoder.scale=10"],
        ),
        ("alpha 2", exp(&["model.alpha=2"])),
        ("output alpha 2 (hidden 8)", exp(&["model.output_alpha=2"])),
        (
            "aux membrane loss 1 -> 0 over the first half",
            exp(&["train.aux_membrane_loss=1"]),
        ),
        ("alpha 4", exp(&["model.alpha=4"])),
        ("decoder scale 20", exp(&["model.decoder.scale=20"])),
        ("decoder scale 80", exp(&["model.decoder.scale=80"])),
        ("decoder base 1.5", exp(&["model.decoder.base=1.5"])),
        (
            "output init gain 0.7 (2x the output currents)",
            exp(&["model.output_init_gain=0.7"]),
        ),
        (
            "output init gain 0.175 (half the output currents)",
            exp(&["model.output_init_gain=0.175"]),
        ),
        (
            "gradient through the fire-once mask",
            exp(&["model.mask_grad=true"]),
        ),
        ("T = 16", exp(&["model.time_steps=16"])),
        (
            "weights read at exact crossing times",
            exp(&["model.decoder.exact_time=true"]),
        ),
        (
            "exact crossing times, decoder scale 80",
            exp(&["model.decoder.exact_time=true", "model.decoder.scale=80"]),
        ),
        (
            "exact crossing times, T = 4",
            exp(&["model.decoder.exact_time=true", "model.time_steps=4"]),
        ),
        (
            "exact crossing times, decoder scale 20",
            exp(&["model.decoder.exact_time=true", "model.decoder.scale=20"]),
        ),
        (
            "exact crossing times, output init gain 0.7",
            exp(&[
                "model.decoder.exact_time=true",
                "model.output_init_gain=0.7",
            ]),
        ),
        (
            "exact crossing times, alpha 4",
            exp(&["model.decoder.exact_time=true", "model.alpha=4"]),
        ),
        (
            "exact crossing times, linear weights",
            exp(&[
                "model.decoder.exact_time=true",
                "model.decoder.weighting=\"linear\"",
            ]),
        ),
        (
            "exact crossing times, aux membrane loss 1 -> 0",
            exp(&["model.decoder.exact_time=true", "train.aux_membrane_loss=1"]),
        ),
        (
            "exact crossing times, decoder base 1.1",
            exp(&["model.decoder.exact_time=true", "model.decoder.base=1.1"]),
        ),
        (
            "exact crossing times, alpha 4, linear weights",
            exp(&[
                "model.decoder.exact_time=true",
                "model.alpha=4",
                "model.decoder.weighting=\"linear\"",
            ]),
        ),
        (
            "exact crossing times, alpha 4, aux membrane loss 1 -> 0",
            exp(&[
                "model.decoder.exact_time=true",
                "model.alpha=4",
                "train.aux_membrane_loss=1",
            ]),
        ),
        (
            "exact crossing times, alpha 4, first-spike max pooling",
            exp(&[
                "model.decoder.exact_time=true",
                "model.alpha=4",
                FIRST_SPIKES,
            ]),
        ),
        (
            "first-spike time decoder (a loss on spike times), exact, alpha 4, scale 10",
            exp(&[
                "model.decoder.kind=\"first_spike\"",
                "model.decoder.scale=10",
                "model.decoder.exact_time=true",
                "model.alpha=4",
            ]),
        ),
        (
            "first-spike time decoder, exact, alpha 4, scale 10, first-spike max pooling",
            exp(&[
                "model.decoder.kind=\"first_spike\"",
                "model.decoder.scale=10",
                "model.decoder.exact_time=true",
                "model.alpha=4",
                FIRST_SPIKES,
            ]),
        ),
        (
            "exact crossing times, alpha 4, learned time weights",
            exp(&[
                "model.decoder.exact_time=true",
                "model.alpha=4",
                "model.decoder.learn_weights=true",
            ]),
        ),
        (
            "exact crossing times, alpha 4, learned time weights, first-spike max pooling",
            exp(&[
                "model.decoder.exact_time=true",
                "model.alpha=4",
                "model.decoder.learn_weights=true",
                FIRST_SPIKES,
            ]),
        ),
        (
            "membrane decoder (scale 10), first-spike max pooling",
            vec![
                "model.decoder.kind=\"membrane\"",
                "model.decoder.scale=10",
                FIRST_SPIKES,
            ],
        ),
    ]
}

/// The four components: one change from the full method per row.
fn component_rows() -> Vec<Row> {
    let temporal = |w: &'static str| -> Vec<&'static str> {
        vec![
            "model.decoder.kind=\"temporal\"",
            w,
            "model.decoder.scale=40",
        ]
    };
    let other = |k: &'static str| -> Vec<&'static str> { vec![k, "model.decoder.scale=10"] };
    let with = |mut a: Vec<&'static str>, b: &[&'static str]| {
        a.extend_from_slice(b);
        a
    };
    let exp = EXP.to_vec();
    vec![
        (
            "all four (ETTFS, WN+affine, temporal exp, avg pool)",
            exp.clone(),
        ),
        (
            "Kaiming init",
            with(exp.clone(), &["model.init=\"kaiming\""]),
        ),
        (
            "no normalization",
            with(exp.clone(), &["model.norm=\"none\""]),
        ),
        (
            "weight norm without affine",
            with(exp.clone(), &["model.norm=\"weight\""]),
        ),
        (
            "temporal linear decoder",
            temporal("model.decoder.weighting=\"linear\""),
        ),
        (
            "first-spike decoder",
            other("model.decoder.kind=\"first_spike\""),
        ),
        ("spike-count decoder", other("model.decoder.kind=\"count\"")),
        ("membrane decoder", other("model.decoder.kind=\"membrane\"")),
        ("max pooling of spikes", with(exp.clone(), &[MAX_SPIKES])),
        (
            "paper's baseline: Kaiming + max pooling",
            with(exp.clone(), &[MAX_SPIKES, "model.init=\"kaiming\""]),
        ),
        (
            "first-spike max pooling",
            with(exp.clone(), &[FIRST_SPIKES]),
        ),
        (
            "Kaiming + first-spike max pooling",
            with(exp, &[FIRST_SPIKES, "model.init=\"kaiming\""]),
        ),
    ]
}
