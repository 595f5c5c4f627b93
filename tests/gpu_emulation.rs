//! The GPU backend's CUDA C kernels, compiled for the CPU and run thread by thread (the `emu`
//! device), compute what the CPU backend computes: every kernel, many shapes and flags (see
//! `kernels/compare/` for the cases and tolerances).

use ttfs::kernels::compare::compare;
use ttfs::kernels::Device;

#[test]
fn emulated_gpu_matches_cpu_on_every_kernel() {
    let rows = compare(Device::Cpu, Device::Emu);
    let failed: Vec<_> = rows.iter().filter(|r| !r.pass).collect();
    // The worst row of each kernel, then every failure.
    let mut kernels: Vec<&str> = Vec::new();
    for r in &rows {
        if !kernels.contains(&r.kernel) {
            kernels.push(r.kernel);
        }
    }
    for k in kernels {
        let worst = rows
            .iter()
            .filter(|r| r.kernel == k)
            .max_by(|a, b| {
                (a.max_rel / a.tol.max(1e-300)).total_cmp(&(b.max_rel / b.tol.max(1e-300)))
            })
            .expect("a row");
        println!("{worst}");
    }
    for r in &failed {
        println!("{r}");
    }
    println!("{} rows, {} failed", rows.len(), failed.len());
    assert!(
        failed.is_empty(),
        "{} of {} comparisons failed (listed above)",
        failed.len(),
        rows.len()
    );
}
