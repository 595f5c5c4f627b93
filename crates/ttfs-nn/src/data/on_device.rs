//! A data set of 8-bit images kept on the GPU: uploaded once, each batch gathered, augmented
//! and encoded there by one kernel ([`crate::kernels::Kernels::gather_images`]). The host only
//! draws each sample's augmentation (the same draws, in the same order, as `batch.rs`), so the
//! batches are the ones the host would assemble, value for value.

use super::augment::{Augment, Placement};
use super::batch::InputSpec;
use super::{Dataset, Kind};
use crate::encoding::{Encoding, ZeroInput};
use crate::kernels::{Buf, Device, ImageGather, PLACEMENT_LEN};
use crate::rng::Rng;
use crate::tensor::Tensor;

pub struct DeviceImages {
    frame: [usize; 3],
    scale: f32,
    labels: Vec<u16>,
    /// Every image's bytes, four to a word.
    data: Buf<u32>,
    /// Normalization means then stds (empty without normalization).
    norm: Buf<f32>,
    idx: Buf<u32>,
    place: Buf<u32>,
    /// Host staging of `idx` and `place`.
    idx_host: Vec<u32>,
    place_host: Vec<u32>,
}

impl DeviceImages {
    /// `ds` on `device`, when it is a data set of images and `device` is not the CPU (whose
    /// trainer assembles batches on a background thread instead).
    pub fn upload(ds: &Dataset, spec: &InputSpec, device: Device) -> Option<DeviceImages> {
        if device == Device::Cpu || ds.kind != Kind::Image || ds.steps != 1 {
            return None;
        }
        let words: Vec<u32> = ds
            .data
            .chunks(4)
            .map(|c| c.iter().rev().fold(0u32, |w, &x| (w << 8) | x as u32))
            .collect();
        let norm = match &spec.normalize {
            Some((mean, std)) => mean.iter().chain(std).copied().collect(),
            None => Vec::new(),
        };
        Some(DeviceImages {
            frame: ds.frame,
            scale: ds.scale,
            labels: ds.labels.clone(),
            data: Buf::from_vec(device, words),
            norm: Buf::from_vec(device, norm),
            idx: Buf::empty(device),
            place: Buf::empty(device),
            idx_host: Vec::new(),
            place_host: Vec::new(),
        })
    }

    /// The input of samples `idx` into `out` (on the device: `[1, B, F]` direct, `[T, B, F]`
    /// latency) and their labels, augmenting each sample first when `aug` is given (its
    /// random numbers drawn in sample order, as [`super::batch::assemble_with`] draws them).
    pub fn gather(
        &mut self,
        idx: &[usize],
        mut aug: Option<(&Augment, &mut Rng)>,
        spec: &InputSpec,
        out: &mut Tensor,
        labels: &mut Vec<usize>,
    ) {
        let b = idx.len();
        labels.clear();
        labels.extend(idx.iter().map(|&i| self.labels[i] as usize));
        self.idx_host.clear();
        self.idx_host.extend(idx.iter().map(|&i| i as u32));
        self.place_host.clear();
        for _ in idx {
            let p = match &mut aug {
                Some((a, rng)) => a.draw(self.frame, rng),
                None => Placement::default(),
            };
            let v = [
                p.flip as u32,
                p.dy as i32 as u32,
                p.dx as i32 as u32,
                p.cut_y.start as u32,
                p.cut_y.end as u32,
                p.cut_x.start as u32,
                p.cut_x.end as u32,
            ];
            debug_assert_eq!(v.len(), PLACEMENT_LEN);
            self.place_host.extend(v);
        }
        self.idx.write(&self.idx_host);
        self.place.write(&self.place_host);
        let latency = spec.encoding == Encoding::Latency;
        let g = ImageGather {
            batch: b,
            frame: self.frame,
            scale: self.scale,
            normalize: spec.normalize.is_some(),
            latency,
            time_steps: spec.time_steps,
            zero_silent: spec.zero == ZeroInput::Silent,
        };
        let f: usize = self.frame.iter().product();
        out.shape = vec![if latency { spec.time_steps } else { 1 }, b, f];
        let k = self.data.kernels();
        k.gather_images(
            &g,
            &self.data,
            &self.idx,
            &self.place,
            &self.norm,
            &mut out.data,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::batch::assemble_with;

    /// The device gather (on the CPU twin and on the emulated GPU) gives the batch the host
    /// assembles, bit for bit: every encoding, normalization, augmentation.
    #[test]
    fn gathered_batches_equal_the_host_assembly() {
        let mut rng = Rng::new(3);
        let (n, frame) = (9, [3, 6, 5]);
        let f: usize = frame.iter().product();
        let ds = Dataset {
            name: "t".into(),
            kind: Kind::Image,
            classes: 4,
            frame,
            steps: 1,
            scale: 1.0 / 255.0,
            data: (0..n * f).map(|_| rng.below(256) as u8).collect(),
            labels: (0..n).map(|i| (i % 4) as u16).collect(),
        };
        let idx = [4, 0, 8, 8, 2];
        for (encoding, zero, normalize) in [
            (Encoding::Direct, ZeroInput::Last, false),
            (Encoding::Direct, ZeroInput::Last, true),
            (Encoding::Latency, ZeroInput::Last, false),
            (Encoding::Latency, ZeroInput::Silent, false),
        ] {
            let spec = InputSpec {
                encoding,
                zero,
                time_steps: 6,
                normalize: normalize.then(|| (vec![0.5, 0.4, 0.3], vec![0.2, 0.25, 0.3])),
            };
            for aug in [
                Augment::default(),
                Augment {
                    flip: true,
                    translate: 2,
                    cutout: 3,
                    mirror: false,
                },
            ] {
                let (mut host, mut labels, mut scratch) = (Tensor::default(), vec![], vec![]);
                let active = aug.is_active();
                let mut r = Rng::new(11);
                let a = active.then_some((&aug, &mut r));
                assemble_with(&ds, &idx, &spec, a, &mut host, &mut labels, &mut scratch);
                let mut dev = DeviceImages::upload(&ds, &spec, Device::Emu).unwrap();
                let (mut out, mut got_labels) = (Tensor::default(), vec![]);
                let mut r = Rng::new(11);
                let a = active.then_some((&aug, &mut r));
                dev.gather(&idx, a, &spec, &mut out, &mut got_labels);
                assert_eq!(out.shape, host.shape, "{encoding:?} {aug:?}");
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&out.data.to_vec()),
                    bits(&host.data.to_vec()),
                    "{encoding:?} {zero:?} normalize={normalize} {aug:?}"
                );
                assert_eq!(got_labels, labels);
            }
        }
    }
}
