//! Random damage to a checkpoint file (bit flips, byte changes, truncations, in the header and
//! in the tensors) is either rejected with an error or leaves every value it holds unchanged:
//! never a panic, never a silently different epoch, step, generator state, config or weight.

use ttfs::checkpoint::Checkpoint;
use ttfs::config::Config;
use ttfs::rng::Rng;
use ttfs::train::Trainer;

/// A digits checkpoint taken in the middle of the second epoch: finite best accuracy,
/// optimizer moments, a non-trivial epoch progress.
fn checkpoint_bytes() -> Vec<u8> {
    let cfg = Config::from_toml(
        "",
        "t",
        &[
            "model.spec=fc12 if fc10".into(),
            "train.batch_size=128".into(),
            "train.epochs=2".into(),
        ],
    )
    .unwrap();
    let mut tr = Trainer::new(&cfg).unwrap();
    tr.train_epoch(|_, _, _, _| {});
    let mut bytes = Vec::new();
    tr.run_epoch(None, |tr, s| {
        if s.progress.steps == 3 {
            bytes = Checkpoint::capture(tr, s.progress.clone(), 0.625)
                .to_bytes()
                .unwrap();
            return false;
        }
        true
    });
    bytes
}

/// Every value a checkpoint holds, as text (`Debug` prints floats exactly).
fn content(ck: &Checkpoint) -> String {
    format!("{ck:?}")
}

#[test]
fn damaged_checkpoints_are_rejected_never_silently_accepted() {
    let good = checkpoint_bytes();
    let want = content(&Checkpoint::from_bytes(&good, "good").unwrap());
    // The safetensors header: 8 bytes of length, then JSON with the metadata.
    let header = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let mut rng = Rng::new(17);
    let (mut rejected, mut harmless) = (0, 0);
    const TRIALS: usize = 20_000;
    for trial in 0..TRIALS {
        let mut bad = good.clone();
        // Half of the damage lands in the header, where the metadata lives.
        let span = if trial % 2 == 0 { header } else { good.len() };
        let at = rng.below(span);
        let what = match trial % 3 {
            0 => {
                let bit = rng.below(8);
                bad[at] ^= 1 << bit;
                format!("bit {bit} of byte {at} flipped")
            }
            1 => {
                let v = loop {
                    let v = rng.below(256) as u8;
                    if v != bad[at] {
                        break v;
                    }
                };
                bad[at] = v;
                format!("byte {at} set to {v:#04x}")
            }
            _ => {
                bad.truncate(at);
                format!("truncated to {at} bytes")
            }
        };
        let r = std::panic::catch_unwind(|| Checkpoint::from_bytes(&bad, "damaged"));
        match r {
            Err(_) => panic!("trial {trial}: {what}: from_bytes panicked"),
            Ok(Err(e)) => {
                let msg = format!("{e:#}");
                assert!(
                    msg.contains("damaged") && !msg.contains('\n'),
                    "trial {trial}: {what}: unclear error: {msg}"
                );
                rejected += 1;
            }
            Ok(Ok(ck)) => {
                assert_eq!(
                    content(&ck),
                    want,
                    "trial {trial}: {what}: a damaged checkpoint was accepted with other values"
                );
                harmless += 1;
            }
        }
    }
    eprintln!(
        "{TRIALS} mutations of a {}-byte checkpoint ({header}-byte header): {rejected} \
         rejected, {harmless} accepted with every value unchanged",
        good.len()
    );
}
