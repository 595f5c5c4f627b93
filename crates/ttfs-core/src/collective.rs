//! What data-parallel training needs from the processes it runs in: their number, this one's
//! rank, sums of gradients across them, a broadcast and a barrier. One training over N
//! processes (`mpirun -np N ttfs train ...`) goes through MPI ([`from_environment`], cargo
//! feature `mpi`); a single process is [`Solo`]. The trainer sees only this trait, so NCCL
//! between GPUs can implement it without touching the trainer.

use crate::kernels::Buf;
use anyhow::{bail, Result};
use std::sync::Arc;

/// How [`Collective::all_reduce_f64`] combines values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduce {
    Sum,
    Max,
}

pub trait Collective: Send + Sync {
    /// `mpi`, `solo`.
    fn name(&self) -> &'static str;
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// Every buffer becomes the elementwise sum of its copies on all processes, with the same
    /// bits everywhere (the sum is formed once, on rank 0, and sent back: an all-reduce whose
    /// order of addition could differ between processes would let their parameters drift
    /// apart).
    fn all_reduce_sum(&self, bufs: &mut [&mut Buf<f32>]);
    /// Small host values (metrics): sum or maximum over the processes, the same everywhere.
    fn all_reduce_f64(&self, x: &mut [f64], op: Reduce);
    /// Rank 0's bytes on every process (`bytes` is replaced elsewhere).
    fn broadcast(&self, bytes: &mut Vec<u8>);
    /// Each process's value, in rank order.
    fn all_gather_u64(&self, x: u64) -> Vec<u64>;
    fn barrier(&self);
    /// End every process of the job now with `code` (after an error on one of them, which
    /// would otherwise leave the others waiting in a collective).
    fn abort(&self, code: i32) -> !;
}

/// One process: every collective is the identity.
pub struct Solo;

impl Collective for Solo {
    fn name(&self) -> &'static str {
        "solo"
    }
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_reduce_sum(&self, _bufs: &mut [&mut Buf<f32>]) {}
    fn all_reduce_f64(&self, _x: &mut [f64], _op: Reduce) {}
    fn broadcast(&self, _bytes: &mut Vec<u8>) {}
    fn all_gather_u64(&self, x: u64) -> Vec<u64> {
        vec![x]
    }
    fn barrier(&self) {}
    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
}

/// The number of processes of the MPI job this process was started in, from the variables
/// Open MPI, MPICH and Slurm set (None: not started by a launcher).
fn launched_size() -> Option<usize> {
    [
        "OMPI_COMM_WORLD_SIZE",
        "PMI_SIZE",
        "PMIX_SIZE",
        "SLURM_NTASKS",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok()?.parse().ok())
}

/// The processes of this training: MPI when started by `mpirun` / `srun` (feature `mpi`), else
/// one process alone. Fails when started as one of several processes by a binary built
/// without MPI (each would train alone, N times the same run).
pub fn from_environment() -> Result<Arc<dyn Collective>> {
    let launched = launched_size();
    #[cfg(feature = "mpi")]
    if launched.is_some() {
        return Ok(Arc::new(mpi_world::MpiWorld::start()?));
    }
    // (0: a PMIx launcher, which does not say how many.)
    if let Some(n) = launched.filter(|&n| n != 1) {
        let n = if n == 0 {
            "several".to_string()
        } else {
            n.to_string()
        };
        bail!(
            "started as one of {n} processes (mpirun/srun), but this ttfs was built without MPI \
             support: rebuild it with `cargo build --release --features mpi` (each process \
             would otherwise train the whole model alone)"
        );
    }
    Ok(Arc::new(Solo))
}

#[cfg(feature = "mpi")]
mod mpi_world {
    use super::{Collective, Reduce};
    use crate::kernels::Buf;
    use anyhow::{anyhow, Result};
    use mpi::collective::SystemOperation;
    use mpi::topology::SimpleCommunicator;
    use mpi::traits::*;

    /// MPI's world communicator (Open MPI through the `mpi` crate). MPI is finalized when
    /// this is dropped.
    pub struct MpiWorld {
        world: SimpleCommunicator,
        rank: usize,
        size: usize,
        /// Host staging of the gradients (one message per step).
        staging: std::sync::Mutex<(Vec<f32>, Vec<f32>)>,
        _universe: mpi::environment::Universe,
    }

    impl MpiWorld {
        pub fn start() -> Result<MpiWorld> {
            let universe = mpi::initialize()
                .ok_or_else(|| anyhow!("MPI could not be initialized (twice in one process?)"))?;
            let world = universe.world();
            Ok(MpiWorld {
                rank: world.rank() as usize,
                size: world.size() as usize,
                world,
                staging: Default::default(),
                _universe: universe,
            })
        }
    }

    impl Collective for MpiWorld {
        fn name(&self) -> &'static str {
            "mpi"
        }
        fn rank(&self) -> usize {
            self.rank
        }
        fn size(&self) -> usize {
            self.size
        }
        fn all_reduce_sum(&self, bufs: &mut [&mut Buf<f32>]) {
            if self.size == 1 {
                return;
            }
            let mut staging = self.staging.lock().unwrap_or_else(|e| e.into_inner());
            let (send, recv) = &mut *staging;
            send.clear();
            for b in bufs.iter() {
                send.extend_from_slice(&b.read());
            }
            recv.clear();
            recv.resize(send.len(), 0.0);
            // Reduce on rank 0, then broadcast: every process gets rank 0's bits.
            let root = self.world.process_at_rank(0);
            if self.rank == 0 {
                root.reduce_into_root(&send[..], &mut recv[..], SystemOperation::sum());
            } else {
                root.reduce_into(&send[..], SystemOperation::sum());
            }
            root.broadcast_into(&mut recv[..]);
            let mut at = 0;
            for b in bufs.iter_mut() {
                let n = b.len();
                b.write(&recv[at..at + n]);
                at += n;
            }
        }
        fn all_reduce_f64(&self, x: &mut [f64], op: Reduce) {
            if self.size == 1 {
                return;
            }
            let send = x.to_vec();
            let op = match op {
                Reduce::Sum => SystemOperation::sum(),
                Reduce::Max => SystemOperation::max(),
            };
            let root = self.world.process_at_rank(0);
            if self.rank == 0 {
                root.reduce_into_root(&send[..], x, op);
            } else {
                root.reduce_into(&send[..], op);
            }
            root.broadcast_into(x);
        }
        fn broadcast(&self, bytes: &mut Vec<u8>) {
            let root = self.world.process_at_rank(0);
            let mut len = bytes.len() as u64;
            root.broadcast_into(&mut len);
            bytes.resize(len as usize, 0);
            root.broadcast_into(&mut bytes[..]);
        }
        fn all_gather_u64(&self, x: u64) -> Vec<u64> {
            let mut all = vec![0u64; self.size];
            self.world.all_gather_into(&x, &mut all[..]);
            all
        }
        fn barrier(&self) {
            self.world.barrier();
        }
        fn abort(&self, code: i32) -> ! {
            self.world.abort(code)
        }
    }

    // SAFETY: MPI is called from the thread that trains only (the prefetch thread never
    // touches the communicator); its handles are plain process-wide values.
    unsafe impl Send for MpiWorld {}
    unsafe impl Sync for MpiWorld {}
}

/// FNV-1a of `bytes`, continuing from `h` (fingerprints of parameters, configs and data).
pub fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// The FNV-1a offset basis.
pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

thread_local! {
    /// Set while [`catch_unwind`] runs: a panic there is handled, not the end of the job.
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// [`std::panic::catch_unwind`], telling the hook of [`abort_on_panic`] that a panic in `f`
/// is handled by the caller (a decoder that panics on a malformed file becomes an error).
pub fn catch_unwind<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> std::thread::Result<R> {
    let before = CATCHING.with(|c| c.replace(true));
    let r = std::panic::catch_unwind(f);
    CATCHING.with(|c| c.set(before));
    r
}

/// From now on a panic on any thread of this process, after its usual message, ends every
/// process of the job (`MPI_Abort`, status 101) when there are several: the others would
/// otherwise wait for this one in a collective forever. One process: nothing changes.
// A panic hook has no caller to return its line to.
#[allow(clippy::print_stderr)]
pub fn abort_on_panic(dist: Arc<dyn Collective>) {
    if dist.size() < 2 {
        return;
    }
    // Weak: the hook must not keep MPI from being finalized when `dist` is dropped.
    let dist = Arc::downgrade(&dist);
    let usual = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        usual(info);
        if CATCHING.with(|c| c.get()) {
            return;
        }
        let Some(dist) = dist.upgrade() else { return };
        eprintln!(
            "error (rank {} of {}): the panic above ends every process of the job (MPI_Abort)",
            dist.rank(),
            dist.size()
        );
        dist.abort(101);
    }));
}

/// An error every process of a data-parallel run meets alike, from values they agreed on (a
/// config checked to be the same everywhere): rank 0 alone reports it, and every process exits
/// with status 1 without `MPI_Abort` (one line, not one per rank).
#[derive(Debug)]
pub struct OnEveryRank(pub String);

impl std::fmt::Display for OnEveryRank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OnEveryRank {}

/// Fails when the global batch cannot give every one of `ranks` processes a sample.
pub fn check_batch_for_ranks(batch_size: usize, ranks: usize) -> Result<()> {
    if batch_size < ranks {
        return Err(OnEveryRank(format!(
            "train.batch_size = {batch_size} is smaller than the {ranks} processes (MPI ranks): \
             each process takes a share of every batch, so train.batch_size must be at least \
             {ranks} (or start fewer processes)"
        ))
        .into());
    }
    Ok(())
}

/// The settings (`section.key = value`) of TOML text `ours` that differ from TOML text `theirs`,
/// with their two values: which keys two processes' configs disagree on.
pub fn config_differences(theirs: &str, ours: &str) -> Vec<(String, String, String)> {
    fn flatten(
        prefix: &str,
        v: &toml::Value,
        out: &mut std::collections::BTreeMap<String, String>,
    ) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flatten(&key, v, out);
                }
            }
            v => {
                out.insert(prefix.to_string(), v.to_string());
            }
        }
    }
    let parse = |text: &str| {
        let mut m = std::collections::BTreeMap::new();
        if let Ok(v) = text.parse::<toml::Value>() {
            flatten("", &v, &mut m);
        }
        m
    };
    let (a, b) = (parse(theirs), parse(ours));
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let absent = || "(absent)".to_string();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            (
                k.clone(),
                a.get(k).cloned().unwrap_or_else(absent),
                b.get(k).cloned().unwrap_or_else(absent),
            )
        })
        .collect()
}

/// Fails, naming the ranks, when the processes' `values` (in rank order) differ.
pub fn check_agree(values: &[u64], what: &str) -> Result<()> {
    if let Some(r) = values.iter().position(|&v| v != values[0]) {
        bail!(
            "{what} differ between ranks: rank 0 has {:016x}, rank {r} has {:016x}",
            values[0],
            values[r]
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disagreement_names_the_first_rank_that_differs() {
        assert!(check_agree(&[7, 7, 7], "x").is_ok());
        let e = check_agree(&[7, 7, 9, 9], "the parameters (hash)").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("rank 0") && msg.contains("rank 2"), "{msg}");
        assert!(msg.starts_with("the parameters (hash) differ between ranks"));
    }

    #[test]
    fn a_batch_smaller_than_the_ranks_is_refused_naming_both() {
        assert!(check_batch_for_ranks(2, 2).is_ok());
        let e = check_batch_for_ranks(1, 2).unwrap_err();
        assert!(e.is::<OnEveryRank>());
        let msg = e.to_string();
        assert!(
            msg.contains("train.batch_size = 1") && msg.contains("2 processes"),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "one line: {msg}");
    }

    #[test]
    fn config_differences_name_the_key() {
        let a = "[train]\nseed = 1\nepochs = 3\n[model]\nspec = \"fc10\"\n";
        let b = "[train]\nseed = 2\nepochs = 3\n[model]\nspec = \"fc10\"\n";
        assert_eq!(
            config_differences(a, b),
            vec![("train.seed".to_string(), "1".to_string(), "2".to_string())]
        );
        assert!(config_differences(a, a).is_empty());
    }

    #[test]
    fn one_process_is_the_identity() {
        let s = Solo;
        let mut b: Buf<f32> = vec![1.0, 2.0].into();
        s.all_reduce_sum(&mut [&mut b]);
        let mut x = [3.0, 4.0];
        s.all_reduce_f64(&mut x, Reduce::Max);
        assert_eq!(
            (b.to_vec(), x, s.all_gather_u64(5)),
            (vec![1.0, 2.0], [3.0, 4.0], vec![5])
        );
        assert_ne!(fnv1a(FNV_START, b"a"), fnv1a(FNV_START, b"b"));
    }
}
