//! A network: a sequence of layers built from a spec, followed by a decoder.
//!
//! `config.rs` holds its settings, `build.rs` builds it from the spec, `inspect.rs` reads it
//! from outside a training step; this file runs it: the forward and backward pass over the
//! layers, the loss and the parameters.

mod build;
mod config;
mod inspect;

pub use config::ModelConfig;

use crate::aux_membrane::AuxMembrane;
use crate::decoder::Decoder;
use crate::kernels::{constant_input_supported, Buf, Device, IfParams};
use crate::layers::{Layer, LayerKind, Param};
use crate::loss;
use crate::sizes;
use crate::tensor::Tensor;
use anyhow::Result;

pub struct Model {
    pub cfg: ModelConfig,
    pub layers: Vec<Box<dyn Layer>>,
    /// Frame shape entering each layer; the last entry is the output frame `[classes]`.
    pub frames: Vec<Vec<usize>>,
    pub decoder: Decoder,
    /// Where parameters, activations and gradients live.
    pub device: Device,
    /// The next batch's encoded input, on the host (written by the data pipeline).
    input: Tensor,
    /// The next batch's input was written straight into `acts[0]` on the device (a data set
    /// kept on the GPU), so `input` is not copied in.
    input_on_device: bool,
    /// The last forward moved the input's values on to `acts[1]` (a leading reshape).
    input_moved: bool,
    /// `acts[0]` is the encoded input `[T, B, in_frame...]` on the device, `acts[i + 1]`
    /// layer `i`'s output (a leading reshape takes the input's values, leaving `acts[0]`
    /// stale: read the input with [`Model::input_values`]).
    pub acts: Vec<Tensor>,
    grads: Vec<Tensor>,
    pub logits: Tensor,
    dlogits: Tensor,
    /// Constant-over-time input (`[1, B, ...]`, direct encoding): the layers before the first
    /// neuron run on one frame per sample, and the last one's output is repeated over T; these
    /// hold that one frame and its gradient summed over T.
    static_out: Tensor,
    static_grad: Tensor,
    /// The last forward gave the first neuron its constant current once (`static_out`)
    /// instead of T copies ([`Kernels::if_forward_constant`]); backward follows.
    constant_neuron: bool,
    /// The batch's labels and per-sample losses on the device.
    labels: Buf<u32>,
    losses: Buf<f32>,
    /// The auxiliary membrane-readout loss (`train.aux_membrane_loss`), when a step asks for it.
    aux: AuxMembrane,
}

impl Model {
    /// Move the model to `device` (parameters now; activations, gradients and scratch follow
    /// on the next pass). Fails with one line when the device cannot be used.
    pub fn to_device(&mut self, device: Device) -> Result<()> {
        device.kernels()?;
        for p in self.params_mut() {
            p.to_device(device);
        }
        self.device = device;
        Ok(())
    }

    /// Whether a batch of `batch` samples fits in memory with this model's parameters
    /// (`training`: with gradients and optimizer moments); `what` names the setting that chose
    /// the batch, for the message.
    pub fn check_batch(&self, batch: usize, training: bool, what: &str) -> Result<()> {
        let per_weight = if training {
            sizes::PER_WEIGHT_TRAINED
        } else {
            sizes::PER_WEIGHT_BUILT
        };
        let fixed = self.num_params() as u128 * per_weight;
        let mut names = vec!["the input".to_string()];
        names.extend(
            self.layer_names()
                .into_iter()
                .enumerate()
                .map(|(i, n)| format!("layer {} ({n})", i + 1)),
        );
        let t = self.cfg.time_steps;
        sizes::check_batch(&names, &self.frames, t, batch, training, fixed, what)
    }

    pub fn classes(&self) -> usize {
        self.frames.last().unwrap().iter().product()
    }

    /// Set the neurons to smooth mode (forward uses the surrogate's primitive): gradient
    /// checks only.
    pub fn set_smooth(&mut self, smooth: bool) {
        self.cfg_neurons(|p| p.smooth = smooth);
    }

    fn cfg_neurons(&mut self, f: impl Fn(&mut IfParams)) {
        for l in &mut self.layers {
            if let Some(p) = l.neuron_params_mut() {
                f(p);
            }
        }
        if let Some(p) = &mut self.decoder.neuron {
            f(p);
        }
    }

    /// The next batch's input on the host, `[T, B, in_frame...]` or `[1, B, ...]` (see
    /// [`Model::forward`]), written by the caller.
    pub fn input_mut(&mut self) -> &mut Tensor {
        self.input_on_device = false;
        &mut self.input
    }

    /// The next batch's input on the device, for a writer that produces it there (see
    /// `data/on_device.rs`); same shapes as [`Model::input_mut`].
    pub fn device_input_mut(&mut self) -> &mut Tensor {
        self.input_on_device = true;
        &mut self.acts[0]
    }

    /// The encoded input of the last forward pass (`[T, B, ...]`, or `[1, B, ...]` for direct
    /// input): `acts[0]`, or `acts[1]` when a leading reshape (a flatten) moved its values on
    /// instead of copying them.
    pub fn input_values(&self) -> &Tensor {
        &self.acts[usize::from(self.input_moved)]
    }

    /// The input of the next forward pass, wherever it was written.
    fn next_input(&self) -> &Tensor {
        if self.input_on_device {
            &self.acts[0]
        } else {
            &self.input
        }
    }

    /// Number of leading layers before the first neuron: stateless per frame, so on an input
    /// that is constant over time they run once per sample (see [`Model::forward`]).
    fn static_prefix(&self) -> usize {
        self.layers
            .iter()
            .position(|l| l.kind() == LayerKind::Neuron)
            .unwrap_or(self.layers.len())
    }

    /// Whether the last forward ran on an input that is constant over time (`[1, B, ...]`).
    fn static_input(&self) -> bool {
        self.acts[0].shape[0] == 1 && self.cfg.time_steps > 1
    }

    /// Run forward on the input (see [`Model::input_mut`]), which is `[T, B, F]` (or
    /// `[T, B, in_frame...]`), or `[1, B, F]` for an input that is the same at every step
    /// (direct encoding). Logits go to `self.logits`.
    pub fn forward(&mut self) {
        crate::kernels::on_worker(|| self.forward_here())
    }

    fn forward_here(&mut self) {
        let t = self.cfg.time_steps;
        let (t_in, b) = (self.next_input().shape[0], self.next_input().shape[1]);
        assert!(
            t_in == t || t_in == 1,
            "input has {t_in} time steps, the model runs {t}"
        );
        let mut shape = vec![t_in, b];
        shape.extend_from_slice(&self.frames[0]);
        assert_eq!(
            shape.iter().product::<usize>(),
            self.next_input().len(),
            "input does not match the model's input shape"
        );
        // The batch crosses to the device, unless it was produced there.
        if self.input_on_device {
            self.input_on_device = false;
        } else {
            self.acts[0].load_from_host(self.device, &mut self.input);
        }
        self.acts[0].shape = shape;
        let k = self.acts[0].data.kernels();
        let mut first = 0;
        self.constant_neuron = false;
        if self.static_input() {
            let p = self.static_prefix();
            if p > 0 {
                // Layers before the first neuron are stateless (synapses, pooling, reshapes):
                // on an input that is the same at every step their output is too, so run them
                // on one frame per sample and repeat the result over T (T times less work).
                for i in 0..p {
                    let (lo, hi) = self.acts.split_at_mut(i + 1);
                    let out = if i + 1 == p {
                        &mut self.static_out
                    } else {
                        &mut hi[0]
                    };
                    self.layers[i].forward(&lo[i], out);
                }
                match self.layers[p].neuron_params_mut().copied() {
                    // The neuron takes the current once: no T copies, no stored potentials.
                    Some(params) if constant_input_supported(&params, t) => {
                        let out = &mut self.acts[p + 1];
                        out.shape = self.static_out.shape.clone();
                        out.shape[0] = t;
                        let n = self.static_out.len();
                        k.if_forward_constant(&params, t, n, &self.static_out.data, &mut out.data);
                        self.constant_neuron = true;
                        first = p + 1;
                    }
                    _ => {
                        let out = &mut self.acts[p];
                        out.shape = self.static_out.shape.clone();
                        out.shape[0] = t;
                        k.repeat(&self.static_out.data, t, &mut out.data);
                        first = p;
                    }
                }
            } else {
                // The input itself is repeated (static_out is free in this case).
                let x = &mut self.acts[0];
                k.repeat(&x.data, t, &mut self.static_out.data);
                std::mem::swap(&mut x.data, &mut self.static_out.data);
                x.shape[0] = t;
            }
        }
        self.input_moved = false;
        for i in first..self.layers.len() {
            let (lo, hi) = self.acts.split_at_mut(i + 1);
            if i == 0 && self.layers[0].kind() == LayerKind::Reshape {
                // A leading reshape (the flatten in front of an MLP) of the input, which no
                // other layer reads: its values move on instead of being copied (see
                // `Model::input_values`).
                std::mem::swap(&mut lo[0].data, &mut hi[0].data);
                hi[0].shape = lo[0].shape[..2].to_vec();
                hi[0].shape.extend_from_slice(&self.frames[1]);
                self.input_moved = true;
                continue;
            }
            self.layers[i].forward(&lo[i], &mut hi[0]);
        }
        let last = self.acts.last().unwrap();
        self.decoder.forward(last, &mut self.logits);
    }

    /// Cross entropy of the last forward's logits against `labels`, and all gradients
    /// (accumulated into each parameter's `grad`). Returns the mean loss.
    pub fn backward(&mut self, labels: &[usize]) -> f32 {
        self.backward_smoothed(labels, 0.0)
    }

    /// [`Model::backward`] with label smoothing `smoothing` (see [`loss::cross_entropy`]).
    pub fn backward_smoothed(&mut self, labels: &[usize], smoothing: f32) -> f32 {
        let loss = self.loss(labels, smoothing);
        self.backward_from_logits();
        loss
    }

    /// Mean cross entropy of the last forward's logits against `labels` (label smoothing
    /// `smoothing`); its gradient goes to `dlogits`. Only the per-sample losses cross to the
    /// host.
    pub fn loss(&mut self, labels: &[usize], smoothing: f32) -> f32 {
        let classes = self.classes();
        let k = self.logits.data.kernels();
        let host: Vec<u32> = labels.iter().map(|&y| y as u32).collect();
        self.labels
            .resize_for_overwrite(self.logits.device(), host.len());
        self.labels.write(&host);
        self.dlogits.shape = self.logits.shape.clone();
        k.cross_entropy(
            &self.logits.data,
            &self.labels,
            classes,
            smoothing,
            &mut self.dlogits.data,
            &mut self.losses,
        );
        let total: f64 = self.losses.read().iter().map(|&l| l as f64).sum();
        (total / labels.len() as f64) as f32
    }

    /// After [`Model::loss`] (which uploads the labels): `lambda` times the cross entropy of
    /// the membrane readout of the same output currents (see `aux_membrane.rs`), returned;
    /// its gradient, times `lambda * grad_factor`, joins the next
    /// [`Model::backward_from_logits`].
    pub fn aux_membrane_loss(&mut self, lambda: f32, grad_factor: f32) -> f32 {
        let cur = self.acts.last().expect("a forward pass first");
        self.aux.loss(cur, &self.labels, lambda, grad_factor)
    }

    /// Backward from gradients already in `dlogits` (set through [`Model::dlogits_mut`]),
    /// plus a pending [`Model::aux_membrane_loss`].
    pub fn backward_from_logits(&mut self) {
        crate::kernels::on_worker(|| self.backward_here())
    }

    fn backward_here(&mut self) {
        let n = self.layers.len();
        {
            let last = &self.acts[n];
            self.decoder
                .backward(last, &self.dlogits, &mut self.grads[n]);
            self.aux.add_grad(last, &mut self.grads[n]);
        }
        let k = if self.static_input() {
            self.static_prefix()
        } else {
            0
        };
        // No gradient is needed below the first layer with parameters: that layer's input
        // gradient (a flatten's, say, or the encoded input's) would be thrown away, and for
        // an MLP on images it is the largest product of the step.
        let first = self.first_trained_layer();
        // The constant-current neuron (layer k) is done below, into static_grad.
        let lowest = k.max(first) + (self.constant_neuron && first <= k) as usize;
        for i in (lowest..n).rev() {
            let (glo, ghi) = self.grads.split_at_mut(i + 1);
            let dx = if i == first { None } else { Some(&mut glo[i]) };
            self.layers[i].backward(&self.acts[i], &self.acts[i + 1], &ghi[0], dx);
        }
        if first < k {
            // The repeated output's gradient is the sum over steps of each copy's gradient
            // (the prefix's Jacobian is the same at every step).
            let g = &self.grads[k + self.constant_neuron as usize];
            let len = self.static_out.len();
            self.static_grad.shape = self.static_out.shape.clone();
            let (t, dst) = (self.cfg.time_steps, &mut self.static_grad.data);
            let kern = g.data.kernels();
            match self.layers[k].neuron_params_mut().copied() {
                Some(params) if self.constant_neuron => {
                    kern.if_backward_constant(&params, t, len, &self.static_out.data, &g.data, dst)
                }
                _ => kern.weighted_step_sum(&g.data, None, t, len, dst),
            }
            for i in (first..k).rev() {
                let (glo, ghi) = self.grads.split_at_mut(i + 1);
                let (y, dy) = if i + 1 == k {
                    (&self.static_out, &self.static_grad)
                } else {
                    (&self.acts[i + 1], &ghi[0])
                };
                let dx = if i == first { None } else { Some(&mut glo[i]) };
                self.layers[i].backward(&self.acts[i], y, dy, dx);
            }
        }
    }

    /// Index of the first layer with trainable parameters (the number of layers if none).
    fn first_trained_layer(&self) -> usize {
        self.layers
            .iter()
            .position(|l| !l.params().is_empty())
            .unwrap_or(self.layers.len())
    }

    /// Multiply the loss gradient in `dlogits` by `factor` (a process's share of a batch
    /// split over several processes: its mean loss weighs `local / global`).
    pub fn scale_dlogits(&mut self, factor: f32) {
        let k = self.dlogits.data.kernels();
        k.scale(&mut self.dlogits.data, factor);
    }

    pub fn dlogits_mut(&mut self) -> &mut Tensor {
        self.dlogits.reset(self.logits.device(), &self.logits.shape);
        &mut self.dlogits
    }

    /// The layers' parameters, then the decoder's learned time weights (if any).
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.layers
            .iter_mut()
            .flat_map(|l| l.params_mut())
            .chain(self.decoder.time_weights.as_mut())
            .collect()
    }

    pub fn params(&self) -> Vec<&Param> {
        self.layers
            .iter()
            .flat_map(|l| l.params())
            .chain(self.decoder.time_weights.as_ref())
            .collect()
    }

    pub fn zero_grad(&mut self) {
        for p in self.params_mut() {
            p.grad.kernels().fill(&mut p.grad, 0.0);
        }
    }

    pub fn num_params(&self) -> usize {
        self.params().iter().map(|p| p.value.len()).sum()
    }

    /// Accuracy credit for the last forward (ties share credit, see `loss::correct_credit`).
    pub fn correct(&self, labels: &[usize]) -> f32 {
        let c = self.classes();
        let logits = self.logits.data.read();
        labels
            .iter()
            .enumerate()
            .map(|(i, &y)| loss::correct_credit(&logits[i * c..(i + 1) * c], y))
            .sum()
    }
}
