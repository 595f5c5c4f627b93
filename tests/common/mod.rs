//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// A fresh, empty directory under the system temp dir, named after the test binary's `prefix`,
/// the process and `name`.
pub fn tmp(prefix: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ttfs-{prefix}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The largest difference between `a` and `b`, relative to `a`'s largest value.
#[allow(dead_code)] // not every test binary compares parameters
pub fn worst_relative(a: &[f32], b: &[f32]) -> f32 {
    let scale = a.iter().map(|v| v.abs()).fold(1e-12, f32::max);
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / scale)
        .fold(0.0, f32::max)
}

/// Run this build's `ttfs` binary with `args`.
#[allow(dead_code)] // not every test binary runs the command line
pub fn ttfs(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ttfs"))
        .args(args)
        .output()
        .expect("run ttfs")
}

/// A finished command's status and output, for assertion messages.
#[allow(dead_code)]
pub fn text(o: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
