#![no_main]
//! AEDAT 3.1 recordings and label CSVs, then slicing and binning: errors, never panics.
use libfuzzer_sys::fuzz_target;
use ttfs::data::events::{self, BinBy, EventEncoding, EventParams};
use ttfs::data::{aedat, dvs_gesture};

fuzz_target!(|data: &[u8]| {
    // The same bytes as a label file, so both parsers see hostile input.
    let gestures = aedat::parse_labels(&String::from_utf8_lossy(data), "fuzz.csv");
    if let Ok(mut ev) = aedat::parse(data, "fuzz") {
        if events::check(&ev, dvs_gesture::SENSOR, "fuzz").is_err() {
            return;
        }
        events::sort_by_time(&mut ev);
        let p = EventParams {
            frames: 3,
            bin_by: BinBy::Time,
            encoding: EventEncoding::Counts,
            resolution: 32,
        };
        let frame = p.frame(dvs_gesture::SENSOR).unwrap();
        let mut out = vec![0u8; 3 * frame.iter().product::<usize>()];
        events::encode(&ev, dvs_gesture::SENSOR, frame, &p, &mut out);
        if let Ok(g) = gestures {
            let _ = dvs_gesture::slice(&ev, &g, "fuzz");
        }
    }
});
