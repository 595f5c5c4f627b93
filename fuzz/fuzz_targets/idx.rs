#![no_main]
//! IDX headers and bodies (MNIST, Fashion-MNIST): errors, never panics.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((dims, values)) = ttfs::data::idx::parse(data, "fuzz") {
        assert_eq!(dims.iter().product::<usize>(), values.len());
    }
});
