#![no_main]
//! CIFAR-10 / CIFAR-100 records: errors, never panics; decoded labels are in range.
use libfuzzer_sys::fuzz_target;
use ttfs::data::cifar::{parse, Variant, PIXELS};

fuzz_target!(|data: &[u8]| {
    for v in [
        Variant::Cifar10,
        Variant::Cifar100 { coarse: false },
        Variant::Cifar100 { coarse: true },
    ] {
        if let Ok((pixels, labels)) = parse(data, v, "fuzz") {
            assert_eq!(pixels.len(), labels.len() * PIXELS);
            assert!(labels.iter().all(|&l| (l as usize) < v.classes()));
        }
    }
});
