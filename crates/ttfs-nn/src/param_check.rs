//! Parameters (and optimizer moments) that are NaN or infinite.
//!
//! Why a check of its own: the divergence check watches the loss, and a network whose
//! parameters went NaN can keep a finite loss. NaN potentials never reach threshold, so its
//! neurons fall silent and the loss sits at ln(classes) while every epoch saves a NaN
//! checkpoint over the good one. So the values are checked wherever they are written to a
//! checkpoint (during and at the end of every epoch) and wherever a checkpoint is read.

use crate::checkpoint::Checkpoint;
use crate::model::Model;

/// The first tensor holding non-finite values, and how many there are in all.
#[derive(Clone, Debug, PartialEq)]
pub struct NonFinite {
    /// Name of the first such tensor (model order; optimizer moments after the parameters).
    pub tensor: String,
    /// Its non-finite values (NaN counted apart) and all of its values.
    pub bad: usize,
    pub nan: usize,
    pub len: usize,
    /// Non-finite values in the other tensors, and how many other tensors hold some.
    pub more: usize,
    pub other_tensors: usize,
}

impl std::fmt::Display for NonFinite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match (self.nan, self.bad - self.nan) {
            (_, 0) => "NaN",
            (0, _) => "infinite",
            _ => "NaN or infinite",
        };
        write!(
            f,
            "`{}` holds {} {kind} values of {}",
            self.tensor, self.bad, self.len
        )?;
        if self.other_tensors > 0 {
            let s = if self.other_tensors == 1 { "" } else { "s" };
            write!(
                f,
                " (and {} more in {} other tensor{s})",
                self.more, self.other_tensors
            )?;
        }
        Ok(())
    }
}

/// The first of `tensors` (name, values) that holds a NaN or an infinity, if any.
pub fn scan<'a>(tensors: impl IntoIterator<Item = (String, &'a [f32])>) -> Option<NonFinite> {
    let mut found: Option<NonFinite> = None;
    for (name, values) in tensors {
        let bad = values.iter().filter(|v| !v.is_finite()).count();
        if bad == 0 {
            continue;
        }
        match &mut found {
            None => {
                found = Some(NonFinite {
                    tensor: name,
                    bad,
                    nan: values.iter().filter(|v| v.is_nan()).count(),
                    len: values.len(),
                    more: 0,
                    other_tensors: 0,
                })
            }
            Some(f) => {
                f.more += bad;
                f.other_tensors += 1;
            }
        }
    }
    found
}

/// Non-finite values among a checkpoint's parameters and optimizer moments.
pub fn in_checkpoint(ck: &Checkpoint) -> Option<NonFinite> {
    let params = ck.params.iter().map(|p| (p.name.clone(), &p.data[..]));
    let moments = ck
        .params
        .iter()
        .zip(&ck.opt_m)
        .map(|(p, m)| (format!("opt.m.{}", p.name), &m[..]))
        .chain(
            ck.params
                .iter()
                .zip(&ck.opt_v)
                .map(|(p, v)| (format!("opt.v.{}", p.name), &v[..])),
        )
        .chain(
            ck.params
                .iter()
                .zip(&ck.online)
                .map(|(p, w)| (format!("online.{}", p.name), &w[..])),
        );
    scan(params.chain(moments))
}

/// Non-finite values among a model's parameters (read from its device).
pub fn in_model(model: &Model) -> Option<NonFinite> {
    let values: Vec<(String, Vec<f32>)> = model
        .params()
        .iter()
        .map(|p| (p.name.clone(), p.value.to_vec()))
        .collect();
    scan(values.iter().map(|(n, v)| (n.clone(), &v[..])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_first_bad_tensor_and_counts_the_rest() {
        let (a, b, c) = (
            vec![1.0, 2.0],
            vec![f32::NAN, 0.0, f32::NAN],
            vec![f32::INFINITY; 4],
        );
        let t = |n: &str, v: &'static [f32]| (n.to_string(), v);
        let leak = |v: Vec<f32>| -> &'static [f32] { v.leak() };
        let (a, b, c) = (leak(a), leak(b), leak(c));
        assert_eq!(scan([t("a", a)]), None);
        let f = scan([t("a", a), t("b", b), t("c", c)]).unwrap();
        assert_eq!((f.tensor.as_str(), f.bad, f.len, f.more), ("b", 2, 3, 4));
        assert_eq!(
            f.to_string(),
            "`b` holds 2 NaN values of 3 (and 4 more in 1 other tensor)"
        );
        assert_eq!(
            scan([t("c", c)]).unwrap().to_string(),
            "`c` holds 4 infinite values of 4"
        );
    }
}
