//! `ttfs selftest`: a device's backend checked against the CPU backend, as a pass/fail table.

use super::threads::{init_threads, threads_arg};
use anyhow::{bail, Result};
use clap::Args;
use ttfs::kernels::Device;

pub const SELFTEST_HELP: &str = "\
Examples:
  ttfs selftest --device cuda      # the GPU against the CPU backend (binary built with --features cuda)
  ttfs selftest --device emu       # the GPU backend's CUDA C compiled for this CPU, no GPU needed";

#[derive(Args)]
pub struct SelftestArgs {
    /// The device to check: cuda, cuda:N, or emu (the GPU code path run on the CPU).
    #[arg(long, default_value = "cuda")]
    device: Device,
    /// Worker threads of the CPU backend (default: one per core).
    #[arg(long, value_parser = threads_arg)]
    threads: Option<usize>,
}

pub fn run(a: SelftestArgs) -> Result<()> {
    init_threads(a.threads.unwrap_or(0));
    let start = std::time::Instant::now();
    let checks = ttfs::selftest::run(a.device)?;
    print!("{}", ttfs::selftest::table(&checks));
    println!(
        "selftest of {} took {:.1} s",
        a.device,
        start.elapsed().as_secs_f64()
    );
    let failed = checks.iter().filter(|c| !c.pass).count();
    if failed > 0 {
        bail!("{failed} of {} checks failed on {}", checks.len(), a.device);
    }
    Ok(())
}
