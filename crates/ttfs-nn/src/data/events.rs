//! Event streams and their encodings into frames.
//!
//! A recording is a list of events (time in microseconds, x, y, polarity). The network sees a
//! sample as `T` frames of shape `[2, H, W]` (channel = polarity: 0 OFF, 1 ON), made either by
//! counting events per bin (saturating at 255) or by the strict TTFS code in which every
//! (polarity, y, x) input fires once, in the bin of its first event.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// One address event. `p` is 0 (OFF) or 1 (ON).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub t: u64,
    pub x: u16,
    pub y: u16,
    pub p: u8,
}

/// How events are split into the `T` frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinBy {
    /// Equal time spans between the sample's first and last event.
    Time,
    /// Equal numbers of events per frame.
    Count,
}

/// What a frame's pixel holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventEncoding {
    /// Events per bin, saturating at 255.
    Counts,
    /// 1 in the bin of the input's first event, 0 everywhere else.
    Ttfs,
}

/// Everything that decides how a recording becomes a sample (and so keys the cache).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventParams {
    /// Frames per sample `T`.
    pub frames: usize,
    pub bin_by: BinBy,
    pub encoding: EventEncoding,
    /// Output side length (square frames); the sensor side when 0.
    pub resolution: usize,
}

impl EventParams {
    /// The `[2, H, W]` frame for a `sensor` = `[H, W]` recording; errors when the requested
    /// resolution is not a down-sampling of the sensor.
    pub fn frame(&self, sensor: [usize; 2]) -> Result<[usize; 3]> {
        if self.frames == 0 {
            bail!("event data needs at least one frame (data.frames)");
        }
        if self.resolution == 0 {
            return Ok([2, sensor[0], sensor[1]]);
        }
        if self.resolution > sensor[0] || self.resolution > sensor[1] {
            bail!(
                "data.resolution = {} is larger than the {}x{} sensor (only down-sampling is supported)",
                self.resolution,
                sensor[0],
                sensor[1]
            );
        }
        Ok([2, self.resolution, self.resolution])
    }

    /// A stable text form, hashed into cache keys.
    pub fn key(&self) -> String {
        format!(
            "frames={} bin_by={:?} encoding={:?} resolution={}",
            self.frames, self.bin_by, self.encoding, self.resolution
        )
    }
}

/// Write the frames of `events` (in time order, coordinates inside `sensor` = `[H, W]`) into
/// `out`, shaped `[T, 2, H', W']` with `[2, H', W'] = frame`. Coordinates are down-sampled by
/// integer scaling `x' = x * W' / W`, so each output pixel pools a block of sensor pixels.
pub fn encode(
    events: &[Event],
    sensor: [usize; 2],
    frame: [usize; 3],
    p: &EventParams,
    out: &mut [u8],
) {
    let (h, w) = (frame[1], frame[2]);
    let f = 2 * h * w;
    let t = p.frames;
    debug_assert_eq!(out.len(), t * f);
    out.fill(0);
    let n = events.len();
    if n == 0 {
        return;
    }
    let t0 = events[0].t;
    // +1 so that the last event falls in the last bin rather than one past it.
    let span = events[n - 1].t.saturating_sub(t0) + 1;
    // Bin of the first event of each input, for the TTFS code.
    let mut first = if p.encoding == EventEncoding::Ttfs {
        vec![u32::MAX; f]
    } else {
        Vec::new()
    };
    for (i, e) in events.iter().enumerate() {
        let bin = match p.bin_by {
            BinBy::Time => ((e.t.saturating_sub(t0) as u128 * t as u128) / span as u128) as usize,
            BinBy::Count => i * t / n,
        }
        .min(t - 1);
        let y = e.y as usize * h / sensor[0];
        let x = e.x as usize * w / sensor[1];
        let pix = (e.p as usize * h + y) * w + x;
        match p.encoding {
            EventEncoding::Counts => {
                let v = &mut out[bin * f + pix];
                *v = v.saturating_add(1);
            }
            EventEncoding::Ttfs => {
                if first[pix] == u32::MAX {
                    first[pix] = bin as u32;
                    out[bin * f + pix] = 1;
                }
            }
        }
    }
}

/// Check that `events` fit a `sensor` = `[H, W]`; the error names the first event that does
/// not.
pub fn check(events: &[Event], sensor: [usize; 2], origin: &str) -> Result<()> {
    for (i, e) in events.iter().enumerate() {
        if e.x as usize >= sensor[1] || e.y as usize >= sensor[0] {
            bail!(
                "{origin}: event {i} at (x {}, y {}) lies outside the {}x{} sensor",
                e.x,
                e.y,
                sensor[1],
                sensor[0]
            );
        }
        if e.p > 1 {
            bail!("{origin}: event {i} has polarity {} (expected 0 or 1)", e.p);
        }
    }
    Ok(())
}

/// Put events in time order (stable, so simultaneous events keep their recorded order). Binning
/// assumes this; recordings are almost always sorted already, which is checked first.
pub fn sort_by_time(events: &mut [Event]) {
    if !events.windows(2).all(|w| w[0].t <= w[1].t) {
        events.sort_by_key(|e| e.t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t: u64, x: u16, y: u16, p: u8) -> Event {
        Event { t, x, y, p }
    }

    fn params(
        frames: usize,
        bin_by: BinBy,
        encoding: EventEncoding,
        resolution: usize,
    ) -> EventParams {
        EventParams {
            frames,
            bin_by,
            encoding,
            resolution,
        }
    }

    #[test]
    fn counts_by_time_and_by_count() {
        // Sensor 4x4, output 4x4, T = 2.
        let es = [
            ev(0, 1, 0, 1),
            ev(1, 1, 0, 1),
            ev(2, 3, 3, 0),
            ev(99, 1, 0, 1),
        ];
        let p = params(2, BinBy::Time, EventEncoding::Counts, 0);
        let fr = p.frame([4, 4]).unwrap();
        assert_eq!(fr, [2, 4, 4]);
        let mut out = vec![0; 2 * 32];
        encode(&es, [4, 4], fr, &p, &mut out);
        // Span 100 us: times 0, 1, 2 fall in bin 0, time 99 in bin 1.
        assert_eq!(out[16 + 1], 2); // bin 0, ON, y 0, x 1
        assert_eq!(out[15], 1); // bin 0, OFF, y 3, x 3
        assert_eq!(out[32 + 16 + 1], 1);
        assert_eq!(out.iter().map(|&v| v as usize).sum::<usize>(), 4);
        let p = params(2, BinBy::Count, EventEncoding::Counts, 0);
        encode(&es, [4, 4], fr, &p, &mut out);
        // Two events per bin.
        assert_eq!(out[16 + 1], 2);
        assert_eq!(out[32 + 15], 1);
        assert_eq!(out[32 + 16 + 1], 1);
    }

    #[test]
    fn ttfs_fires_once_at_the_first_event_and_counts_saturate() {
        let mut es: Vec<Event> = (0..300).map(|t| ev(t, 2, 1, 0)).collect();
        es.push(ev(300, 0, 0, 1));
        let p = params(3, BinBy::Time, EventEncoding::Ttfs, 0);
        let fr = p.frame([2, 4]).unwrap();
        let mut out = vec![0; 3 * 16];
        encode(&es, [2, 4], fr, &p, &mut out);
        assert_eq!(out[4 + 2], 1); // bin 0, OFF, y 1, x 2
        assert_eq!(out[2 * 16 + 8], 1); // bin 2, ON, y 0, x 0
        assert_eq!(out.iter().map(|&v| v as usize).sum::<usize>(), 2);
        let p = params(1, BinBy::Time, EventEncoding::Counts, 0);
        let mut out = vec![0; 16];
        encode(&es, [2, 4], fr, &p, &mut out);
        assert_eq!(out[4 + 2], 255);
    }

    #[test]
    fn down_samples_by_pooling_blocks() {
        let p = params(1, BinBy::Count, EventEncoding::Counts, 32);
        let fr = p.frame([128, 128]).unwrap();
        assert_eq!(fr, [2, 32, 32]);
        let es = [ev(0, 127, 0, 1), ev(1, 124, 3, 1), ev(2, 123, 4, 1)];
        let mut out = vec![0; 2 * 32 * 32];
        encode(&es, [128, 128], fr, &p, &mut out);
        assert_eq!(out[32 * 32 + 31], 2);
        assert_eq!(out[32 * 32 + 32 + 30], 1);
        assert!(params(1, BinBy::Time, EventEncoding::Counts, 200)
            .frame([128, 128])
            .is_err());
        assert!(params(0, BinBy::Time, EventEncoding::Counts, 0)
            .frame([128, 128])
            .is_err());
    }

    #[test]
    fn check_names_the_bad_event() {
        let e = check(&[ev(0, 0, 0, 0), ev(1, 34, 0, 0)], [34, 34], "a.bin")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a.bin: event 1 at (x 34, y 0) lies outside the 34x34"),
            "{e}"
        );
        let mut es = [ev(5, 0, 0, 0), ev(1, 1, 0, 0), ev(1, 2, 0, 0)];
        sort_by_time(&mut es);
        assert_eq!(es.map(|e| e.x), [1, 2, 0]);
    }
}
