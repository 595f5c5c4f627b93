//! What the repository ships: valid configs, and documentation that points only inside it.

use std::path::Path;
use ttfs::config::Config;

#[test]
fn shipped_configs_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let cfg = Config::load(Some(&p), &[]).unwrap_or_else(|e| panic!("{e:#}"));
            ttfs::spec::parse(&cfg.model.spec).unwrap();
            // A config named for its readout or its layers has that readout and those layers.
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            let kind = format!("{:?}", cfg.model.decoder.kind).to_lowercase();
            for readout in ["temporal", "membrane"] {
                if name.ends_with(&format!("-{readout}")) {
                    assert_eq!(kind, readout, "{name}");
                }
            }
            if name.contains("-fc400-") {
                let layers: Vec<&str> = name.split('-').filter(|t| t.starts_with("fc")).collect();
                let mut want: Vec<String> = layers.iter().map(|l| format!("{l} if")).collect();
                want.push("fc10".into());
                assert_eq!(cfg.model.spec, want.join(" "), "{name}");
            }
            n += 1;
        }
    }
    assert!(n >= 6, "only {n} configs in {}", dir.display());
}

#[test]
fn documentation_points_only_inside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for dir in ["docs", "configs"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "md" || x == "toml") {
                files.push(p);
            }
        }
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for bad in ["../shared", "/work/", "../../"] {
            assert!(!text.contains(bad), "{} mentions {bad}", f.display());
        }
    }
}
