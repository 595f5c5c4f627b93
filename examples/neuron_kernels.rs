//! The integrate-and-fire kernels on the first spiking layer of the Fashion-MNIST recipe
//! (48 x 28 x 28 neurons, batch 64, T = 8, sigmoid alpha 8, direct input): the general pair on
//! T copies of the current (plus the copy and the sum over steps it needs) against the
//! constant-current pair (`Kernels::if_forward_constant`); and the pair that stores the
//! potentials (`if_forward`, `if_backward`, the decoder's) against the neuron layer's, which
//! recomputes them (`if_forward_spikes`, `if_backward_recomputed`), on the repeated current.
//! Prints milliseconds and GB/s.
//!
//!     cargo run --release --example neuron_kernels [-- UNITS T]

#[path = "common/timing.rs"]
mod timing;
use ttfs::kernels::{Buf, Device, IfParams};
use ttfs::rng::Rng;
use ttfs::surrogate::{Surrogate, SurrogateKind};

/// Median of 9 runs.
fn time_ms(f: impl FnMut()) -> f64 {
    timing::time_ms(9, f)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("UNITS T are numbers"))
        .collect();
    let (n, t) = match args[..] {
        [n, t] => (n, t),
        _ => (64 * 48 * 28 * 28, 8),
    };
    let k = Device::Cpu.kernels().expect("the CPU backend");
    let p = IfParams {
        surrogate: Surrogate::new(SurrogateKind::Sigmoid, 8.0),
        fire_once: true,
        mask_grad: false,
        smooth: false,
    };
    let mut rng = Rng::new(1);
    let c = Buf::from_vec(Device::Cpu, (0..n).map(|_| rng.range(-0.1, 0.5)).collect());
    let ds = Buf::from_vec(
        Device::Cpu,
        (0..t * n).map(|_| rng.range(-1.0, 1.0)).collect(),
    );
    let (mut rep, mut s, mut v, mut dcur, mut dc) = (
        Buf::default(),
        Buf::from_vec(Device::Cpu, vec![0.0; t * n]),
        Buf::from_vec(Device::Cpu, vec![0.0; t * n]),
        Buf::from_vec(Device::Cpu, vec![0.0; t * n]),
        Buf::from_vec(Device::Cpu, vec![0.0; n]),
    );
    k.repeat(&c, t, &mut rep);
    let gb = |floats: usize, ms: f64| floats as f64 * 4.0 / ms / 1e6;
    let tn = t * n;
    let f_rep = time_ms(|| k.repeat(&c, t, &mut rep));
    let f_gen = time_ms(|| k.if_forward(&p, t, n, &rep, &mut s, &mut v));
    let b_gen = time_ms(|| k.if_backward(&p, t, n, &s, &v, &ds, &mut dcur));
    let b_sum = time_ms(|| k.weighted_step_sum(&dcur, None, t, n, &mut dc));
    let f_con = time_ms(|| k.if_forward_constant(&p, t, n, &c, &mut s));
    let b_con = time_ms(|| k.if_backward_constant(&p, t, n, &c, &ds, &mut dc));
    let f_spk = time_ms(|| k.if_forward_spikes(&p, t, n, &rep, &mut s));
    let b_rec = time_ms(|| k.if_backward_recomputed(&p, t, n, &rep, &ds, &mut dcur));
    println!(
        "{n} neurons, T = {t}, {} threads",
        rayon::current_num_threads()
    );
    println!(
        "repeat                {f_rep:8.2} ms  {:6.1} GB/s",
        gb(tn, f_rep)
    );
    println!(
        "if_forward            {f_gen:8.2} ms  {:6.1} GB/s",
        gb(3 * tn, f_gen)
    );
    println!(
        "if_backward           {b_gen:8.2} ms  {:6.1} GB/s",
        gb(3 * tn, b_gen) // reads v and ds, writes dcur
    );
    println!(
        "sum over steps        {b_sum:8.2} ms  {:6.1} GB/s",
        gb(tn, b_sum)
    );
    println!(
        "if_forward_constant   {f_con:8.2} ms  {:6.1} GB/s",
        gb(tn, f_con)
    );
    println!(
        "if_backward_constant  {b_con:8.2} ms  {:6.1} GB/s",
        gb(tn, b_con)
    );
    println!(
        "if_forward_spikes     {f_spk:8.2} ms  {:6.1} GB/s",
        gb(2 * tn, f_spk) // reads cur, writes s
    );
    println!(
        "if_backward_recomputed {b_rec:7.2} ms  {:6.1} GB/s",
        gb(3 * tn, b_rec) // reads cur and ds, writes dcur
    );
    println!(
        "stored potentials {:.2} ms, recomputed {:.2} ms (forward + backward)",
        f_gen + b_gen,
        f_spk + b_rec
    );
    println!(
        "general path {:.2} ms, constant path {:.2} ms",
        f_rep + f_gen + b_gen + b_sum,
        f_con + b_con
    );
}
