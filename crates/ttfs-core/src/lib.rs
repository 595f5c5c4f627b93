//! ttfs-core: the numeric core of ttfs.
//!
//! Device buffers ([`kernels::Buf`]) and the [`kernels::Kernels`] every layer is built on, with
//! their two backends (the CPU, and NVIDIA GPUs through CUDA: `kernels/gpu`), plain tensors,
//! the collective operations of data-parallel training (MPI, NCCL), the surrogate functions
//! the neuron kernels evaluate, and the one random number generator.
//!
//! This crate knows nothing of layers, models or data sets (`ttfs-nn` builds them on it) and
//! prints nothing (clippy's print lints deny it), except the line the panic hook of a
//! multi-process job adds before it ends the job (`collective::abort_on_panic`).

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod collective;
pub mod kernels;
pub mod rng;
pub mod surrogate;
pub mod tensor;
