//! The command line itself: help with examples for every command, and mistakes answered in
//! one clear line.

use crate::common::{text, ttfs};

#[test]
fn command_line_mistakes_are_one_clear_line() {
    let o = ttfs(&["train", "--threads", "0"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("at least 1"),
        "{}",
        text(&o)
    );
    let o = ttfs(&["train", "--set", "train.epochs=many"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("expected a whole number") && !e.contains("usize"),
        "{e}"
    );
    let o = ttfs(&["train", "--set", "optimizer.lr=fast"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("expected a number") && !e.contains("f32"), "{e}");
}

#[test]
fn every_command_has_help_with_examples() {
    for cmd in ["train", "eval", "plot", "info", "export"] {
        let o = ttfs(&[cmd, "--help"]);
        assert!(o.status.success());
        let s = String::from_utf8_lossy(&o.stdout);
        assert!(s.contains("Examples:") && s.contains("ttfs "), "{cmd}: {s}");
    }
    let o = ttfs(&["--help"]);
    let s = String::from_utf8_lossy(&o.stdout);
    for cmd in ["train", "eval", "plot", "info", "export"] {
        assert!(s.contains(cmd), "{s}");
    }
}
