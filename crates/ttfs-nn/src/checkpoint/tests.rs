//! Checkpoints round-trip and restore a run exactly; damaged files, the earlier formats and
//! a failed write are handled.

use super::*;
use std::io::Write;

fn tiny() -> Trainer {
    tiny_with(&[])
}

fn tiny_with(settings: &[&str]) -> Trainer {
    let settings: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
    let toml = "[model]\nspec = \"fc16 if fc10\"\n[train]\nepochs = 1\n";
    Trainer::new(&Config::from_toml(toml, "t", &settings).unwrap()).unwrap()
}

#[test]
fn round_trip_and_restore() {
    let mut tr = tiny();
    let mut ck = None;
    let done = tr.run_epoch(None, |tr, s| {
        if s.progress.steps == 2 {
            ck = Some(Checkpoint::capture(tr, s.progress.clone(), 0.5));
        }
        s.progress.steps < 2
    });
    assert!(done.is_none());
    let ck = ck.unwrap();
    let bytes = ck.to_bytes().unwrap();
    let back = Checkpoint::from_bytes(&bytes, "x").unwrap();
    assert_eq!(back.params, ck.params);
    assert_eq!(back.opt_m, ck.opt_m);
    assert_eq!(back.opt_v, ck.opt_v);
    assert_eq!(back.rng, ck.rng);
    assert_eq!(back.epoch_progress, ck.epoch_progress);
    assert_eq!(back.step, 2);
    assert_eq!(back.opt_step, 2);
    assert_eq!(back.config, ck.config);
    let mut fresh = tiny();
    back.restore(&mut fresh).unwrap();
    assert_eq!(params_of(&fresh.model), ck.params);
    assert_eq!(fresh.rng, tr.rng);
}

#[test]
fn damaged_files_are_rejected() {
    let tr = tiny();
    let bytes = Checkpoint::capture(&tr, Default::default(), 0.0)
        .to_bytes()
        .unwrap();
    let e = format!(
        "{:#}",
        Checkpoint::from_bytes(&bytes[..bytes.len() - 10], "c.safetensors").unwrap_err()
    );
    assert!(
        e.contains("c.safetensors") && e.contains("truncated"),
        "{e}"
    );
    let mut flipped = bytes.clone();
    let k = flipped.len() - 7;
    flipped[k] ^= 1;
    let e = format!(
        "{:#}",
        Checkpoint::from_bytes(&flipped, "c.safetensors").unwrap_err()
    );
    assert!(e.contains("checksum"), "{e}");
    let e = format!("{:#}", Checkpoint::from_bytes(b"hello", "c").unwrap_err());
    assert!(e.contains("not a usable ttfs checkpoint"), "{e}");
}

/// A file as an earlier version wrote it: format `format`, its FNV checksum (over the
/// tensors only for format 1), metadata through a `HashMap`.
fn legacy_bytes(
    ck: &Checkpoint,
    format: &str,
    edit: impl Fn(&mut BTreeMap<String, String>),
) -> Vec<u8> {
    let (tensors, mut meta) = ck.contents().unwrap();
    meta.insert("format".into(), format.into());
    edit(&mut meta);
    let covered = (format == FORMAT_FNV).then_some(&meta);
    let sum = digest::legacy_fnv(covered, &tensors);
    let mut meta: HashMap<String, String> = meta.into_iter().collect();
    meta.insert("checksum".into(), sum);
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, s, d)| {
            let v = safetensors::tensor::TensorView::new(Dtype::F32, s.clone(), d).unwrap();
            (n.clone(), v)
        })
        .collect();
    safetensors::serialize(views, Some(meta)).unwrap()
}

/// Files of the earlier formats (FNV checksum over metadata and tensors, or over the
/// tensors only with "no best yet" written as NaN) still load, verified with their own
/// checksum: runs trained before the change can be evaluated and resumed.
#[test]
fn files_of_the_earlier_formats_still_load() {
    let tr = tiny();
    let ck = Checkpoint::capture(&tr, Default::default(), f64::NEG_INFINITY);
    let old = legacy_bytes(&ck, FORMAT_TENSORS_ONLY, |m| {
        m.insert("best_accuracy".into(), "NaN".into());
    });
    let back = Checkpoint::from_bytes(&old, "old.safetensors").unwrap();
    assert_eq!(back.params, ck.params);
    assert!(back.best_accuracy.is_nan());
    // A changed tensor is still caught.
    let mut bad = old.clone();
    let k = bad.len() - 5;
    bad[k] ^= 4;
    assert!(Checkpoint::from_bytes(&bad, "old").is_err());
    let v2 = legacy_bytes(&ck, FORMAT_FNV, |_| {});
    let back = Checkpoint::from_bytes(&v2, "v2.safetensors").unwrap();
    assert_eq!((back.params, back.rng), (ck.params.clone(), ck.rng));
    let mut bad = v2.clone();
    let k = bad.len() - 5;
    bad[k] ^= 4;
    let e = format!(
        "{:#}",
        Checkpoint::from_bytes(&bad, "v2.safetensors").unwrap_err()
    );
    assert!(
        e.contains("v2.safetensors") && e.contains("checksum"),
        "{e}"
    );
    // A format-2 file's metadata is covered too.
    let mut edited = legacy_bytes(&ck, FORMAT_FNV, |_| {});
    let key = b"\"epoch\":\"0\"";
    let at = edited.windows(key.len()).position(|w| w == key).unwrap();
    edited[at + key.len() - 2] = b'7';
    let e = format!("{:#}", Checkpoint::from_bytes(&edited, "v2").unwrap_err());
    assert!(e.contains("checksum"), "{e}");
}

/// A writer that fails after `left` bytes, like a disk that fills up.
struct Failing<'a> {
    inner: &'a mut dyn Write,
    left: usize,
}

impl Write for Failing<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "No space left on device",
            ));
        }
        let n = buf.len().min(self.left);
        self.left -= n;
        self.inner.write(&buf[..n])
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[test]
fn failed_write_keeps_the_previous_file() {
    let dir = std::env::temp_dir().join(format!("ttfs-atomic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("last.safetensors");
    let tr = tiny();
    let ck = Checkpoint::capture(&tr, Default::default(), 0.0);
    ck.save(&path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let bytes = ck.to_bytes().unwrap();
    let e = write_atomic(&path, |w| {
        Failing {
            inner: w,
            left: bytes.len() / 2,
        }
        .write_all(&bytes)
    })
    .unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.contains("intact") && msg.contains("disk is full"),
        "{msg}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    Checkpoint::load(&path).unwrap();
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "temporary file left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tiny_averaged() -> Trainer {
    tiny_with(&["train.ema_decay=0.9"])
}

/// With `train.ema_decay`: the checkpoint's parameters are the average and its `online`
/// tensors the trained weights; a run stopped after 3 steps and resumed from the file ends
/// with the same average, weights and evaluation as one that was not, and that evaluation is
/// the average's.
#[test]
fn a_moving_average_is_saved_evaluated_and_resumed_exactly() {
    let mut whole = tiny_averaged();
    let m_whole = whole.run_epoch(None, |_, _| true).unwrap();
    let ck_whole = Checkpoint::capture(&whole, EpochProgress::default(), 0.0);
    assert_eq!(ck_whole.online.len(), ck_whole.params.len());
    assert_ne!(
        ck_whole.online[0], ck_whole.params[0].data,
        "the average is not the weights"
    );
    assert_eq!(ck_whole.online[0], whole.model.params()[0].value.to_vec());

    let mut stopped = tiny_averaged();
    let mut ck = None;
    stopped.run_epoch(None, |tr, s| {
        if s.progress.steps == 3 {
            ck = Some(Checkpoint::capture(tr, s.progress.clone(), 0.0));
        }
        s.progress.steps < 3
    });
    let back = Checkpoint::from_bytes(&ck.unwrap().to_bytes().unwrap(), "x").unwrap();
    let mut resumed = tiny_averaged();
    back.restore(&mut resumed).unwrap();
    let m_resumed = resumed
        .run_epoch(Some(back.epoch_progress.clone()), |_, _| true)
        .unwrap();
    let ck_resumed = Checkpoint::capture(&resumed, EpochProgress::default(), 0.0);
    assert_eq!(ck_resumed.params, ck_whole.params);
    assert_eq!(ck_resumed.online, ck_whole.online);
    assert_eq!(m_resumed.eval.accuracy, m_whole.eval.accuracy);

    // The epoch's evaluation is that of the average, loaded as a plain model.
    let mut plain = tiny();
    ck_whole.load_params(&mut plain.model).unwrap();
    let e = plain.evaluate_test();
    assert_eq!(e.accuracy, m_whole.eval.accuracy);
    assert_eq!(e.loss, m_whole.eval.loss);
    // ... and not that of the trained weights.
    let trained = Checkpoint {
        params: params_of(&whole.model),
        ..ck_whole.clone()
    };
    let mut online = tiny();
    trained.load_params(&mut online.model).unwrap();
    assert_ne!(online.evaluate_test().loss, e.loss);
}

#[test]
fn incomplete_trained_weights_are_damage() {
    let mut tr = tiny_averaged();
    tr.run_epoch(None, |_, s| s.progress.steps < 2);
    let mut ck = Checkpoint::capture(&tr, EpochProgress::default(), 0.0);
    ck.online.pop();
    let e = Checkpoint::from_bytes(&ck.to_bytes().unwrap(), "f.safetensors").unwrap_err();
    assert!(format!("{e:#}").contains("trained weights beside the average are incomplete"));
}
