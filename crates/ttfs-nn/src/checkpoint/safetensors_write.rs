//! Writing a `safetensors` file with every byte decided by its content: two runs that end in the
//! same state write identical files, which `cmp` or a file hash can then confirm.
//!
//! Why not `safetensors::serialize`: it takes the metadata as a `HashMap` and writes it in the
//! map's iteration order, which changes from process to process (and between maps of one
//! process). Here the header is written with the metadata in key order, then the tensors in
//! name order, each with its data offsets, padded with spaces to a multiple of 8 bytes as the
//! crate pads it; files are read back with the crate's own parser (`SafeTensors`), which
//! validates this header like any other.

use super::digest::RawTensor;
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The safetensors bytes of f32 `tensors` (sorted here by name) with metadata `meta`.
pub fn to_bytes(tensors: &[RawTensor], meta: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    let mut order: Vec<&RawTensor> = tensors.iter().collect();
    order.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = order.windows(2).find(|w| w[0].0 == w[1].0) {
        bail!("two tensors are named `{}`", w[0].0);
    }
    let quote = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let mut header = String::from("{\"__metadata__\":{");
    for (i, (k, v)) in meta.iter().enumerate() {
        let sep = if i > 0 { "," } else { "" };
        let _ = write!(header, "{sep}{}:{}", quote(k), quote(v));
    }
    header.push('}');
    let mut offset = 0usize;
    for (name, shape, data) in &order {
        let values: usize = shape.iter().product();
        if values * 4 != data.len() {
            bail!(
                "tensor `{name}` has shape {shape:?} but {} bytes of f32",
                data.len()
            );
        }
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        let _ = write!(
            header,
            ",{}:{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{offset},{}]}}",
            quote(name),
            dims.join(","),
            offset + data.len()
        );
        offset += data.len();
    }
    header.push('}');
    let mut head = header.into_bytes();
    head.resize(head.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + head.len() + offset);
    out.extend((head.len() as u64).to_le_bytes());
    out.extend(head);
    for (_, _, data) in order {
        out.extend_from_slice(data);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::SafeTensors;

    #[test]
    fn the_crate_reads_it_back_and_the_bytes_do_not_depend_on_insertion_order() {
        let t = |n: &str, v: &[f32]| -> RawTensor {
            (
                n.into(),
                vec![v.len()],
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        };
        let a = vec![t("b", &[1.0, 2.0]), t("a", &[3.0]), t("z\"q", &[])];
        let mut b = a.clone();
        b.reverse();
        let mut meta = BTreeMap::new();
        for k in ["x", "a", "m", "quote\"d", "new\nline"] {
            meta.insert(k.to_string(), format!("value of {k}"));
        }
        let bytes = to_bytes(&a, &meta).unwrap();
        assert_eq!(bytes, to_bytes(&b, &meta).unwrap());
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.tensor("b").unwrap().data(), &a[0].2[..]);
        assert_eq!(st.tensor("a").unwrap().shape(), &[1]);
        let (_, h) = SafeTensors::read_metadata(&bytes).unwrap();
        let back: BTreeMap<String, String> = h.metadata().clone().unwrap().into_iter().collect();
        assert_eq!(back, meta);
        // The tensors start 8-byte aligned, as the crate's own files.
        assert_eq!(u64::from_le_bytes(bytes[..8].try_into().unwrap()) % 8, 0);
    }
}
