#![no_main]
//! N-MNIST recordings, then binning: errors, never panics.
use libfuzzer_sys::fuzz_target;
use ttfs::data::events::{self, BinBy, EventEncoding, EventParams};
use ttfs::data::nmnist::{parse, SENSOR};

fuzz_target!(|data: &[u8]| {
    if let Ok(mut ev) = parse(data, "fuzz") {
        events::sort_by_time(&mut ev);
        for (bin_by, encoding, resolution) in [
            (BinBy::Time, EventEncoding::Counts, 0),
            (BinBy::Count, EventEncoding::Ttfs, 17),
        ] {
            let p = EventParams { frames: 5, bin_by, encoding, resolution };
            let frame = p.frame(SENSOR).unwrap();
            let mut out = vec![0u8; 5 * frame.iter().product::<usize>()];
            events::encode(&ev, SENSOR, frame, &p, &mut out);
        }
    }
});
