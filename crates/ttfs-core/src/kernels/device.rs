//! The device a run's tensors live on, chosen once at start (`--device cpu|cuda[:N]`).

use super::Kernels;
use anyhow::{bail, Result};
use std::fmt;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Device {
    /// The CPU backend (`kernels/cpu`).
    #[default]
    Cpu,
    /// The GPU backend's CUDA C kernels compiled for the CPU and run thread by thread (tests
    /// and `ttfs selftest --device emu`: the GPU code path without a GPU).
    Emu,
    /// An NVIDIA GPU by ordinal, through the GPU backend (`--features cuda`).
    Cuda(usize),
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Emu => write!(f, "emu"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl std::str::FromStr for Device {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Device> {
        match s.trim() {
            "cpu" => Ok(Device::Cpu),
            "emu" => Ok(Device::Emu),
            "cuda" => Ok(Device::Cuda(0)),
            other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(i)) => Ok(Device::Cuda(i)),
                _ => bail!("unknown device `{s}` (cpu, cuda or cuda:N, e.g. cuda:1)"),
            },
        }
    }
}

impl serde::Serialize for Device {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Device {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Device, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Device {
    /// The kernels of this device, starting its backend on first use (a GPU: load the driver,
    /// NVRTC and cuBLAS, compile the kernels). Fails with one line naming what is missing.
    pub fn kernels(&self) -> Result<&'static dyn Kernels> {
        match self {
            Device::Cpu => Ok(&super::cpu::Cpu),
            Device::Emu => Ok(super::gpu::emulated()),
            #[cfg(feature = "cuda")]
            Device::Cuda(i) => super::gpu::cuda::backend(*i),
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(_) => bail!(
                "--device {self}: this ttfs was built without CUDA support; rebuild it with \
                 `cargo build --release --features cuda`"
            ),
        }
    }
}
