//! `ttfs bench`: training steps of the PyTorch peer's two models timed in ttfs and, when the
//! peer script and PyTorch are there, in the peer (eager and compiled), with the ratios; over
//! several rounds, their median and range.

use super::threads::{init_threads, threads_arg};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use ttfs::kernels::Device;

pub const BENCH_HELP: &str = "\
Examples:
  ttfs bench
  ttfs bench --models mlp --steps 20 --threads 2
  ttfs bench --peer bench/ttfs_torch.py --python python3
  ttfs bench --data mnist --data-dir ~/data/mnist --rounds 3   # real images: fewer events";

#[derive(Args)]
pub struct BenchArgs {
    /// Models to time (mlp, cnn).
    #[arg(long, value_delimiter = ',', default_value = "mlp,cnn")]
    models: Vec<String>,
    #[arg(long, default_value_t = 8)]
    time_steps: usize,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Timed steps (after 3 warm-up steps).
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// The PyTorch peer script; skipped when absent.
    #[arg(long, default_value = "bench/ttfs_torch.py")]
    peer: PathBuf,
    /// Python interpreter for the peer.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Worker threads for ttfs and the peer (default: one per core).
    #[arg(long, value_parser = threads_arg)]
    threads: Option<usize>,
    /// Where ttfs trains: cpu, cuda or cuda:N. On a GPU the peer runs there too (DEVICE=cuda,
    /// unless DEVICE is already set).
    #[arg(long, default_value = "cpu")]
    device: Device,
    /// Surrogate derivative of both sides: sigmoid (the peer's default) or triangle, whose
    /// compact support lets ttfs skip the input gradient where it does not change.
    #[arg(long, default_value = "sigmoid", value_parser = ["sigmoid", "triangle"])]
    surrogate: String,
    /// The surrogate's sharpness (default 4, the peer's; the triangle's half-width is 2/alpha).
    #[arg(long, default_value_t = 4.0)]
    alpha: f32,
    /// Cut ttfs's hidden neurons' surrogate to `|v - 1| < BAND` (`model.band`, the sparse
    /// backward). The peer runs as its users run it (uncut), and once more compiled with the
    /// same cut surrogate (`BAND`: the same gradients, computed densely), a second ratio.
    #[arg(long)]
    band: Option<f32>,
    /// Measure each model this many times, ttfs and the peer taking turns, and summarize
    /// with the median of the per-round ratios and their range (on a shared, noisy machine
    /// one round can be off by 1.5x).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,
    /// Train both sides on this data set's training images (mnist or fashion-mnist), batch
    /// after batch, instead of one batch of random images (every pixel nonzero: every input
    /// unit fires, the most input events a batch can have).
    #[arg(long, value_parser = ["mnist", "fashion-mnist"])]
    data: Option<String>,
    /// Where --data's files are (default: where `ttfs train` looks).
    #[arg(long, requires = "data")]
    data_dir: Option<PathBuf>,
}

/// One way of running the peer: eager or under torch.compile, with its uncut surrogate or
/// with ttfs's band.
struct PeerMode {
    label: String,
    compile: &'static str,
    band: Option<f32>,
}

/// Runs the peer script once in `mode`; its median ms per step, or why it failed.
fn peer_step_ms(
    args: &BenchArgs,
    model: &str,
    threads: usize,
    mode: &PeerMode,
    data_dir: Option<&std::path::Path>,
) -> std::result::Result<f64, String> {
    let mut cmd = std::process::Command::new(&args.python);
    cmd.arg(&args.peer)
        .args([
            "bench",
            model,
            &args.time_steps.to_string(),
            &args.batch.to_string(),
        ])
        .env("THREADS", threads.to_string())
        .env("COMPILE", mode.compile)
        .env("SURROGATE", &args.surrogate)
        .env("ALPHA", args.alpha.to_string())
        .env_remove("BAND");
    if let Some(b) = mode.band {
        cmd.env("BAND", b.to_string());
    }
    if let Some(d) = data_dir {
        cmd.env("DATA_DIR", d);
    }
    if matches!(args.device, Device::Cuda(_)) && std::env::var_os("DEVICE").is_none() {
        cmd.env("DEVICE", "cuda");
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    String::from_utf8_lossy(&out.stdout)
        .split("median_ms=")
        .nth(1)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(|| {
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .to_string()
        })
}

/// Median (the mean of the middle two for an even count), smallest and largest of `v`.
fn median_and_range(v: &[f64]) -> (f64, f64, f64) {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    ((v[(n - 1) / 2] + v[n / 2]) / 2.0, v[0], v[n - 1])
}

/// How many cores other processes kept busy over `window` (Linux `/proc/stat`), for
/// `ttfs bench`'s warning about a busy machine. (The load average lags by a minute and counts
/// the previous benchmark.)
fn busy_cores(window: std::time::Duration) -> Option<f64> {
    let sample = || -> Option<(f64, f64)> {
        let text = std::fs::read_to_string("/proc/stat").ok()?;
        let line = text.lines().next()?;
        let v: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal ...
        let idle = v.get(3)? + v.get(4).unwrap_or(&0.0);
        Some((v.iter().take(8).sum(), idle))
    };
    let (t0, i0) = sample()?;
    std::thread::sleep(window);
    let (t1, i1) = sample()?;
    let cores = std::thread::available_parallelism().ok()?.get() as f64;
    let total = t1 - t0;
    (total > 0.0).then(|| cores * (1.0 - (i1 - i0) / total))
}

pub fn run(a: BenchArgs) -> Result<()> {
    anyhow::ensure!(a.alpha > 0.0, "--alpha must be positive");
    if let Some(b) = a.band {
        anyhow::ensure!(b > 0.0, "--band must be positive, got {b}");
    }
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    init_threads(threads);
    a.device.kernels()?;
    let (t, device, rounds) = (a.time_steps, a.device, a.rounds as usize);
    println!(
        "training step (forward + backward + Adam), T = {t}, batch {}, {threads} threads, device {device}, {} surrogate alpha {}{}",
        a.batch,
        a.surrogate,
        a.alpha,
        a.band
            .map_or(String::new(), |b| format!(", ttfs's hidden layers cut to band {b}"))
    );
    if let Some(busy) = busy_cores(std::time::Duration::from_millis(500)) {
        // Both sides slow down on a busy machine, but not alike: PyTorch's OpenMP threads
        // wait for each other at every operator, so a peer with a busy core can take 10x its
        // time (measured: 2,800 against 184 ms a step) and inflate the ratio.
        if busy > 0.25 {
            println!(
                "note: other work kept {busy:.1} cores busy just before the run, so times \
                 and ratios are not those of a quiet machine"
            );
        }
    }
    // A data set's images: located and read once, for ttfs; the peer reads the same folder.
    let data = match &a.data {
        Some(name) => {
            let dir = ttfs::data::locate::locate(name, a.data_dir.as_deref())?
                .expect("image data sets have a directory");
            let train = ttfs::data::load(name, Some(&dir))?.train;
            ttfs::bench::check_bench_images(&train, a.batch)?;
            println!(
                "input: {name} training images from {} ({} images, batch after batch)",
                dir.display(),
                train.len()
            );
            Some((dir, train))
        }
        None => {
            println!("input: one batch of random images (every pixel nonzero)");
            None
        }
    };
    let input = match &data {
        Some((_, d)) => ttfs::bench::BenchInput::Images(d),
        None => ttfs::bench::BenchInput::Random,
    };
    let data_dir = data.as_ref().map(|(dir, _)| dir.as_path());
    // The peer eager and under torch.compile (the strongest plain-PyTorch peer), unless
    // COMPILE is set in the environment, which picks one.
    let mode = |label: &str, compile, band| PeerMode {
        label: label.to_string(),
        compile,
        band,
    };
    let mut modes: Vec<PeerMode> = match std::env::var("COMPILE").ok().as_deref() {
        Some("1") => vec![mode("compiled", "1", None)],
        Some(_) => vec![mode("eager", "0", None)],
        None => vec![mode("eager", "0", None), mode("compiled", "1", None)],
    };
    // For honesty: the peer with the same cut surrogate (it still computes every product).
    if let Some(b) = a.band {
        let strongest = modes.last().expect("one peer mode at least");
        let label = format!("{}+band{b}", strongest.label);
        modes.push(mode(&label, strongest.compile, Some(b)));
    }
    for m in &a.models {
        let mut cfg = ttfs::bench::peer_model(m, t)?;
        cfg.alpha = a.alpha;
        cfg.band = a.band;
        if a.surrogate == "triangle" {
            cfg.surrogate = ttfs::surrogate::SurrogateKind::Triangle;
        }
        // Per round: ttfs's median, then each peer mode's median and its ratio.
        let mut ours = Vec::new();
        let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
        for round in 0..rounds {
            let r = ttfs::bench::time_training_step(&cfg, device, a.batch, 3, a.steps, input)?;
            let tag = if rounds > 1 {
                format!(" round {}", round + 1)
            } else {
                String::new()
            };
            let peak = match r.peak_rss {
                Some(b) => format!("  peak RSS {:.0} MB", b as f64 / 1e6),
                None => String::new(),
            };
            println!(
                "ttfs  {m:<4} median {:>8.2} ms/step (min {:.2})  {:>8.0} samples/s{peak}{tag}",
                r.median_ms, r.min_ms, r.samples_per_s
            );
            ours.push(r.median_ms);
            if !a.peer.is_file() {
                println!("peer  {m:<4} script {} not found", a.peer.display());
                continue;
            }
            for (k, pm) in modes.iter().enumerate() {
                let mode = &pm.label;
                match peer_step_ms(&a, m, threads, pm, data_dir) {
                    Ok(p) => {
                        println!(
                            "peer  {m} {mode:<8} {p:>8.2} ms/step  -> ttfs is {:.2}x faster{tag}",
                            p / r.median_ms
                        );
                        ratios[k].push(p / r.median_ms);
                    }
                    Err(e) => println!("peer  {m} {mode:<8} failed: {e}"),
                }
            }
        }
        if rounds > 1 {
            let (mid, lo, hi) = median_and_range(&ours);
            println!(
                "summary {m}: ttfs median of {rounds} rounds {mid:.2} ms/step (range {lo:.2} - {hi:.2})"
            );
            for (pm, r) in modes.iter().zip(&ratios) {
                let mode = &pm.label;
                if !r.is_empty() {
                    let (mid, lo, hi) = median_and_range(r);
                    println!(
                        "summary {m}: ttfs is {mid:.2}x faster than {mode} (median of {} rounds' ratios, range {lo:.2} - {hi:.2})",
                        r.len()
                    );
                }
            }
        }
    }
    Ok(())
}
