//! Structured damage to a checkpoint file, the kinds a random fuzzer rarely produces but disks,
//! copies and people do: sign bits flipped in pairs (which cancelled in the format-2 FNV sum),
//! 4 KiB blocks swapped or zeroed, a file cut inside a tensor, a bit flipped in the metadata.
//! Each must be refused with a one-line message that names the file. Run with `--nocapture`
//! to see the table of damage and message.

mod common;

use ttfs::checkpoint::Checkpoint;
use ttfs::config::Config;
use ttfs::train::Trainer;

const PAGE: usize = 4096;

/// A digits checkpoint with optimizer moments, large enough for several 4 KiB pages of tensor
/// data (fc64: 4096 weights, 16 KiB, and as much again for each moment).
fn checkpoint() -> Checkpoint {
    let cfg = Config::from_toml(
        "",
        "t",
        &[
            "model.spec=fc64 if fc10".into(),
            "train.batch_size=256".into(),
            "train.epochs=1".into(),
        ],
    )
    .unwrap();
    let mut tr = Trainer::new(&cfg).unwrap();
    let mut ck = None;
    tr.run_epoch(None, |tr, s| {
        ck = Some(Checkpoint::capture(tr, s.progress.clone(), 0.5));
        s.progress.steps < 3
    });
    ck.unwrap()
}

/// Where tensor `name`'s bytes lie in the file.
fn tensor_range(bytes: &[u8], name: &str) -> std::ops::Range<usize> {
    let (n, meta) = safetensors::SafeTensors::read_metadata(bytes).unwrap();
    let info = meta.info(name).unwrap();
    let start = 8 + n;
    start + info.data_offsets.0..start + info.data_offsets.1
}

/// Flip the sign bit of the f32 at byte offset `at`.
fn flip_sign(b: &mut [u8], at: usize) {
    b[at + 3] ^= 0x80;
}

#[test]
fn structured_damage_is_refused_with_a_message_naming_the_file() {
    let ck = checkpoint();
    let good = ck.to_bytes().unwrap();
    let header = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    assert!(good.len() > header + 4 * PAGE, "{} bytes", good.len());
    let bias = tensor_range(&good, "fc1.bias");
    let w2 = tensor_range(&good, "fc2.weight");
    let m2 = tensor_range(&good, "opt.m.fc2.weight");
    let w1 = tensor_range(&good, "fc1.weight");
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    let mut case = |what: &str, edit: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        edit(&mut b);
        assert_ne!(b, good, "{what}: no damage done");
        cases.push((what.to_string(), b));
    };
    case("sign bits of 2 f32 of fc1.bias flipped", &|b| {
        flip_sign(b, bias.start + 4);
        flip_sign(b, bias.start + 12);
    });
    case(
        "sign bit of every odd f32 of fc2.weight flipped (320 flips)",
        &|b| {
            for at in w2.clone().step_by(8) {
                flip_sign(b, at + 4);
            }
        },
    );
    case(
        "2 sign bits in fc1.bias and 2 in opt.m.fc2.weight flipped",
        &|b| {
            flip_sign(b, bias.start);
            flip_sign(b, bias.start + 4);
            flip_sign(b, m2.start + 40);
            flip_sign(b, m2.start + 44);
        },
    );
    case("two 4 KiB blocks of fc1.weight swapped", &|b| {
        let (x, y) = (w1.start, w1.start + PAGE);
        let first = b[x..x + PAGE].to_vec();
        b.copy_within(y..y + PAGE, x);
        b[y..y + PAGE].copy_from_slice(&first);
    });
    case("a 4 KiB page of the file zeroed (file offset 8192)", &|b| {
        b[2 * PAGE..3 * PAGE].fill(0);
    });
    case("the first 4 KiB page zeroed (header length gone)", &|b| {
        b[..PAGE].fill(0);
    });
    case("truncated inside the last tensor", &|b| {
        let n = b.len() - 100;
        b.truncate(n);
    });
    case("truncated to the header alone", &|b| b.truncate(header));
    for (key, what) in [
        (
            "\"step\":\"",
            "bit 0 of the step counter's first digit flipped",
        ),
        (
            "\"rng\":\"[",
            "bit 0 of the generator state's first digit flipped",
        ),
    ] {
        case(what, &|b| {
            let at = b
                .windows(key.len())
                .position(|w| w == key.as_bytes())
                .unwrap();
            b[at + key.len()] ^= 1;
        });
    }
    case(
        "bit 0 of a digit of the stored config flipped (seed)",
        &|b| {
            let key = b"seed = ";
            let at = b.windows(key.len()).position(|w| w == key).unwrap();
            b[at + key.len()] ^= 1;
        },
    );
    let dir = common::tmp("corrupt", "files");
    let mut table = String::from("| damage | message |\n|---|---|\n");
    for (i, (what, bytes)) in cases.iter().enumerate() {
        let path = dir.join(format!("damaged-{i}.safetensors"));
        std::fs::write(&path, bytes).unwrap();
        let e = match Checkpoint::load(&path) {
            Ok(_) => panic!("{what}: the damaged file was accepted"),
            Err(e) => format!("{e:#}"),
        };
        let name = path.display().to_string();
        assert!(
            e.contains(&name) && !e.contains('\n') && e.contains("not a usable ttfs checkpoint"),
            "{what}: unclear message: {e}"
        );
        table += &format!("| {what} | {} |\n", e.replace(&name, "FILE"));
    }
    eprintln!("{table}");
    std::fs::remove_dir_all(&dir).unwrap();
}
