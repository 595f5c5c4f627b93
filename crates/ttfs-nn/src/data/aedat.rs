//! AEDAT 3.1 recordings (the DVS128 Gesture files) and their label CSVs.
//!
//! A file starts with ASCII header lines, each beginning with `#`, the first `#!AER-DAT3.1`
//! and the last `#!END-HEADER\r\n`. Packets follow, each a 28-byte little-endian header
//! (eventType u16, eventSource u16, eventSize u32, eventTSOffset u32, eventTSOverflow u32,
//! eventCapacity u32, eventNumber u32, eventValid u32) and `eventCapacity * eventSize` bytes of
//! events. Polarity events (type 1) are 8 bytes: a u32 of data (bit 0 valid, bit 1 polarity,
//! bits 2..16 y, bits 17..31 x) and a u32 timestamp in microseconds, extended to 64 bits by
//! `eventTSOverflow << 31`. Packets of other types are skipped.

use super::events::Event;
use anyhow::{bail, Result};

const VERSION_LINE: &[u8] = b"#!AER-DAT3.1";
const END_HEADER: &[u8] = b"#!END-HEADER\r\n";
pub const PACKET_HEADER: usize = 28;
pub const POLARITY: u16 = 1;

/// Byte offset just past the ASCII header.
fn body_start(bytes: &[u8], origin: &str) -> Result<usize> {
    if !bytes.starts_with(VERSION_LINE) {
        let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(16)]).into_owned();
        bail!("{origin}: not an AEDAT 3.1 file (starts with {shown:?}, expected \"#!AER-DAT3.1\")");
    }
    let mut pos = 0;
    while pos < bytes.len() {
        if bytes[pos] != b'#' {
            bail!("{origin}: header line at byte {pos} does not start with '#' and no #!END-HEADER was found");
        }
        let end = match bytes[pos..].iter().position(|&b| b == b'\n') {
            Some(e) => pos + e + 1,
            None => break,
        };
        if &bytes[pos..end] == END_HEADER {
            return Ok(end);
        }
        pos = end;
    }
    bail!("{origin}: truncated header (no #!END-HEADER line)")
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

/// Decode every valid polarity event of an AEDAT 3.1 file, in file order.
pub fn parse(bytes: &[u8], origin: &str) -> Result<Vec<Event>> {
    let mut pos = body_start(bytes, origin)?;
    let mut events = Vec::new();
    let mut packet = 0usize;
    while pos < bytes.len() {
        if bytes.len() - pos < PACKET_HEADER {
            bail!(
                "{origin}: packet {packet} at byte {pos}: truncated packet header ({} of {PACKET_HEADER} bytes)",
                bytes.len() - pos
            );
        }
        let h = &bytes[pos..pos + PACKET_HEADER];
        let kind = u16::from_le_bytes([h[0], h[1]]);
        let size = u32_at(h, 4) as u64;
        let ts_offset = u32_at(h, 8);
        let overflow = u32_at(h, 12) as u64;
        let capacity = u32_at(h, 16) as u64;
        let number = u32_at(h, 20) as u64;
        let len = size * capacity;
        let rest = (bytes.len() - pos - PACKET_HEADER) as u64;
        if len > rest {
            bail!(
                "{origin}: packet {packet} at byte {pos} declares {capacity} events of {size} bytes \
                 ({len} bytes) but only {rest} bytes remain (truncated file or corrupt header)"
            );
        }
        if number > capacity {
            bail!("{origin}: packet {packet} at byte {pos} declares {number} events but a capacity of only {capacity}");
        }
        let data = &bytes[pos + PACKET_HEADER..pos + PACKET_HEADER + len as usize];
        if kind == POLARITY {
            if size != 8 || ts_offset != 4 {
                bail!(
                    "{origin}: polarity packet {packet} at byte {pos} has events of {size} bytes with the \
                     timestamp at offset {ts_offset} (expected 8 and 4)"
                );
            }
            events.reserve(number as usize);
            for e in data.chunks_exact(8).take(number as usize) {
                let d = u32_at(e, 0);
                if d & 1 == 0 {
                    continue;
                }
                events.push(Event {
                    t: (overflow << 31) + u32_at(e, 4) as u64,
                    x: ((d >> 17) & 0x7fff) as u16,
                    y: ((d >> 2) & 0x7fff) as u16,
                    p: ((d >> 1) & 1) as u8,
                });
            }
        }
        pos += PACKET_HEADER + len as usize;
        packet += 1;
    }
    Ok(events)
}

/// Encode polarity events as an AEDAT 3.1 file with packets of at most `per_packet` events
/// (for tests, fuzzing seeds and benchmarks). Every event is marked valid.
pub fn encode(events: &[Event], per_packet: usize) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n");
    out.extend_from_slice(END_HEADER);
    for chunk in events.chunks(per_packet.max(1)) {
        let overflow = (chunk[0].t >> 31) as u32;
        let n = chunk.len() as u32;
        out.extend_from_slice(&POLARITY.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        for v in [8, 4, overflow, n, n, n] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for e in chunk {
            let d = ((e.x as u32) << 17) | ((e.y as u32) << 2) | ((e.p as u32) << 1) | 1;
            out.extend_from_slice(&d.to_le_bytes());
            out.extend_from_slice(&((e.t - ((overflow as u64) << 31)) as u32).to_le_bytes());
        }
    }
    out
}

/// One labelled gesture of a recording: class 0..10 and its time span `[start, end)` in us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gesture {
    pub class: u16,
    pub start: u64,
    pub end: u64,
}

/// Parse a `*_labels.csv`: a header line, then `class,startTime_usec,endTime_usec` lines with
/// classes 1..=11 (returned as 0..=10).
pub fn parse_labels(text: &str, origin: &str) -> Result<Vec<Gesture>> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim().starts_with("class") => {}
        Some((_, h)) => bail!(
            "{origin}: line 1 is {h:?}, expected the header class,startTime_usec,endTime_usec"
        ),
        None => bail!("{origin}: empty label file"),
    }
    let mut out = Vec::new();
    for (i, line) in lines {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != 3 {
            bail!(
                "{origin}: line {}: expected 3 comma-separated values, found {}",
                i + 1,
                f.len()
            );
        }
        let num = |s: &str| -> Result<u64> {
            s.parse().map_err(|_| {
                anyhow::anyhow!("{origin}: line {}: `{s}` is not a whole number", i + 1)
            })
        };
        let (class, start, end) = (num(f[0])?, num(f[1])?, num(f[2])?);
        if !(1..=11).contains(&class) {
            bail!(
                "{origin}: line {}: class {class} is out of range (1..=11)",
                i + 1
            );
        }
        if end <= start {
            bail!(
                "{origin}: line {}: gesture ends ({end}) before it starts ({start})",
                i + 1
            );
        }
        out.push(Gesture {
            class: class as u16 - 1,
            start,
            end,
        });
    }
    if out.is_empty() {
        bail!("{origin}: no gestures listed");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t: u64, x: u16, y: u16, p: u8) -> Event {
        Event { t, x, y, p }
    }

    #[test]
    fn decodes_packets_exactly() {
        let es = vec![
            ev(5, 127, 0, 1),
            ev(6, 0, 127, 0),
            ev(7, 64, 3, 1),
            ev((1 << 31) + 9, 1, 2, 0),
        ];
        let bytes = encode(&es, 2);
        let back = parse(&bytes, "user01_lab.aedat").unwrap();
        assert_eq!(back, es);
        // The last event alone in a packet of the next overflow epoch.
        let bytes = encode(&es, 3);
        let last = bytes.len() - 8 - PACKET_HEADER;
        assert_eq!(u32_at(&bytes, last + 12), 1);
        assert_eq!(u32_at(&bytes, bytes.len() - 4), 9);
        assert_eq!(parse(&bytes, "f").unwrap(), es);
    }

    #[test]
    fn skips_invalid_events_and_other_packet_types() {
        let mut bytes = encode(&[ev(1, 2, 3, 1), ev(2, 4, 5, 0)], 8);
        let body = bytes.len() - 16;
        bytes[body] &= !1; // first event invalid
                           // A special-event packet (type 0, 8-byte events) before the polarity one.
        let start = bytes
            .windows(END_HEADER.len())
            .position(|w| w == END_HEADER)
            .unwrap()
            + END_HEADER.len();
        let mut special = vec![0u8, 0, 1, 0];
        for v in [8u32, 4, 0, 1, 1, 1] {
            special.extend_from_slice(&v.to_le_bytes());
        }
        special.extend_from_slice(&[0xff; 8]);
        bytes.splice(start..start, special);
        assert_eq!(parse(&bytes, "f").unwrap(), vec![ev(2, 4, 5, 0)]);
    }

    #[test]
    fn rejects_bad_files_with_clear_errors() {
        let good = encode(&[ev(1, 2, 3, 1), ev(2, 4, 5, 0)], 8);
        let e = parse(b"#!AER-DAT2.0\r\n", "a.aedat")
            .unwrap_err()
            .to_string();
        assert!(e.contains("a.aedat: not an AEDAT 3.1 file"), "{e}");
        let e = parse(b"#!AER-DAT3.1\r\n#x\r\n", "a.aedat")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no #!END-HEADER"), "{e}");
        let e = parse(&good[..good.len() - 3], "a.aedat")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a.aedat: packet 0")
                && e.contains("declares 2 events of 8 bytes (16 bytes) but only 13 bytes remain"),
            "{e}"
        );
        // A header that lies about its capacity.
        let hdr = good.len() - 16 - PACKET_HEADER;
        let mut lying = good.clone();
        lying[hdr + 16..hdr + 20].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = parse(&lying, "a").unwrap_err().to_string();
        assert!(e.contains("declares 4294967295 events"), "{e}");
        let mut lying = good.clone();
        lying[hdr + 20..hdr + 24].copy_from_slice(&3u32.to_le_bytes());
        let e = parse(&lying, "a").unwrap_err().to_string();
        assert!(
            e.contains("declares 3 events but a capacity of only 2"),
            "{e}"
        );
        let mut lying = good.clone();
        lying[hdr + 4..hdr + 8].copy_from_slice(&4u32.to_le_bytes());
        lying[hdr + 16..hdr + 20].copy_from_slice(&4u32.to_le_bytes());
        let e = parse(&lying, "a").unwrap_err().to_string();
        assert!(e.contains("events of 4 bytes"), "{e}");
        let e = parse(&good[..good.len() - 16 - 5], "a")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("truncated packet header (23 of 28 bytes)"),
            "{e}"
        );
        // Header only: no events, no error.
        assert!(parse(&good[..hdr], "a").unwrap().is_empty());
    }

    #[test]
    fn parses_label_csvs() {
        let g = parse_labels(
            "class,startTime_usec,endTime_usec\r\n1,100,200\r\n11,300,450\r\n\r\n",
            "u_labels.csv",
        )
        .unwrap();
        assert_eq!(
            g,
            vec![
                Gesture {
                    class: 0,
                    start: 100,
                    end: 200
                },
                Gesture {
                    class: 10,
                    start: 300,
                    end: 450
                }
            ]
        );
        let bad = |t: &str| parse_labels(t, "u_labels.csv").unwrap_err().to_string();
        assert!(
            bad("class,s,e\n12,1,2\n").contains("u_labels.csv: line 2: class 12 is out of range")
        );
        assert!(bad("class,s,e\n0,1,2\n").contains("class 0 is out of range"));
        assert!(bad("class,s,e\n1,5,2\n").contains("ends (2) before it starts (5)"));
        assert!(bad("class,s,e\n1,x,2\n").contains("`x` is not a whole number"));
        assert!(bad("class,s,e\n1,2\n").contains("expected 3"));
        assert!(bad("1,2,3\n").contains("expected the header"));
        assert!(bad("").contains("empty label file"));
        assert!(bad("class,s,e\n").contains("no gestures"));
    }
}
