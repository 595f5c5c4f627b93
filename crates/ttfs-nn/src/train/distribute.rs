//! Data-parallel training: each process's share of a batch, the check that every process
//! started with the same config and data, and that their parameters stay bitwise the same.

use super::Trainer;
use crate::collective::{self, Collective};
use anyhow::{bail, Result};

impl Trainer {
    /// This process's share `[start, end)` of `n` items split over the processes (the first
    /// `n % size` processes take one more; with `n < size` the last ones take none, and
    /// contribute a zero gradient to that step).
    pub(super) fn share(&self, n: usize) -> std::ops::Range<usize> {
        let (r, size) = (self.dist.rank(), self.dist.size());
        let at = |k: usize| k * (n / size) + k.min(n % size);
        at(r)..at(r + 1)
    }

    /// Train together with the other processes of `dist`: each takes its share of every batch
    /// and of every evaluation, and the gradients are summed. Fails, naming the ranks, when
    /// the processes were started with different configs or data.
    pub fn distribute(&mut self, dist: std::sync::Arc<dyn Collective>) -> Result<()> {
        let mut h = collective::fnv1a(collective::FNV_START, self.shared_config().as_bytes());
        for ds in [
            Some(&self.train),
            self.validation.as_ref(),
            Some(&self.test),
        ]
        .into_iter()
        .flatten()
        {
            h = collective::fnv1a(h, &(ds.len() as u64).to_le_bytes());
            let labels: Vec<u8> = ds.labels.iter().flat_map(|l| l.to_le_bytes()).collect();
            h = collective::fnv1a(h, &labels);
            h = collective::fnv1a(h, &ds.data);
        }
        let hashes = dist.all_gather_u64(h);
        if let Err(e) = collective::check_agree(
            &hashes,
            "the configs or data sets (start every process with the same config, --set overrides and data files)",
        ) {
            // Name the keys: rank 0's config to every process; the first rank that differs
            // reports (and its error ends the job); the others wait for that.
            let ours = self.shared_config();
            let mut theirs = ours.clone().into_bytes();
            dist.broadcast(&mut theirs);
            let first = hashes.iter().position(|&v| v != hashes[0]).unwrap_or(0);
            if dist.rank() != first {
                dist.barrier();
                return Err(e);
            }
            let diff = collective::config_differences(&String::from_utf8_lossy(&theirs), &ours);
            if diff.is_empty() {
                bail!("{e} (the configs agree: the data sets differ)");
            }
            let keys: Vec<String> = diff
                .iter()
                .map(|(k, a, b)| format!("{k} is {a} on rank 0, {b} on rank {first}"))
                .collect();
            bail!(
                "the configs differ between ranks: {} (start every process with the same \
                 config and --set overrides)",
                keys.join("; ")
            );
        }
        collective::check_batch_for_ranks(self.cfg.train.batch_size, dist.size())?;
        let smallest = self
            .validation
            .as_ref()
            .map_or(self.test.len(), |v| v.len().min(self.test.len()));
        if smallest < dist.size() {
            bail!(
                "{} processes but an evaluation split of only {smallest} samples: use fewer processes",
                dist.size()
            );
        }
        self.dist = dist;
        self.check_ranks_agree()
    }

    /// The config without what may differ between processes (threads, device).
    fn shared_config(&self) -> String {
        let mut c = self.cfg.clone();
        c.train.threads = 0;
        c.train.device = Default::default();
        c.to_toml()
    }

    /// Fails, naming the ranks, when the processes' parameters are not bitwise the same.
    pub fn check_ranks_agree(&self) -> Result<()> {
        if self.dist.size() == 1 {
            return Ok(());
        }
        let mut h = collective::FNV_START;
        for p in self.model.params() {
            let bytes: Vec<u8> = p
                .value
                .read()
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            h = collective::fnv1a(h, &bytes);
        }
        collective::check_agree(&self.dist.all_gather_u64(h), "the parameters (hash)")
    }
}
