//! Builds the two forms of the GPU kernels in `src/kernels/gpu` (see its `prelude.cuh`):
//!
//! - `$OUT_DIR/gpu_kernels.cu`: the prelude and the `.cu` files (sorted by name) in one
//!   program, which the CUDA backend compiles at run time with NVRTC (`include_str!`);
//! - `$OUT_DIR/gpu_kernel_names.rs`: `KERNEL_NAMES`, every kernel of that program;
//! - the same program compiled here as C++ (`-DTTFS_EMULATE`) into a static library for the
//!   `emu` device, exporting
//!   `extern "C" int ttfs_emu_launch(const char* name, unsigned grid, unsigned block, void** params)`,
//!   which runs a kernel on the CPU, every (block, thread) in turn, its arguments passed as
//!   `cuLaunchKernel` takes them (`params[i]` points to the i-th argument's value). It returns
//!   0, or -1 for an unknown name.
//!
//! The argument unpacking is generated from each `KERNEL name(type a, type b, ...)` signature,
//! so a kernel is declared once, in its `.cu` file.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

const GPU_DIR: &str = "src/kernels/gpu";

/// A kernel's signature: its name and its parameters' (C type, name).
struct Signature {
    name: String,
    params: Vec<(String, String)>,
}

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={GPU_DIR}");

    let prelude = Path::new(GPU_DIR).join("prelude.cuh");
    let mut sources: Vec<PathBuf> = fs::read_dir(GPU_DIR)
        .unwrap_or_else(|e| panic!("reading {GPU_DIR}: {e}"))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cu"))
        .collect();
    sources.sort();

    // The program: the prelude, then every source. `#line` keeps compiler messages (NVRTC's
    // and the C++ compiler's) pointing at the file and line a kernel was written on.
    let mut program = String::new();
    let mut kernels: Vec<Signature> = Vec::new();
    for path in std::iter::once(&prelude).chain(&sources) {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        writeln!(program, "#line 1 \"{file}\"").unwrap();
        program.push_str(&text);
        if !text.ends_with('\n') {
            program.push('\n');
        }
        if path != &prelude {
            kernels.extend(signatures(&text, &file));
        }
    }
    for (i, k) in kernels.iter().enumerate() {
        assert!(
            kernels[..i].iter().all(|other| other.name != k.name),
            "kernel {} is defined twice",
            k.name
        );
    }
    fs::write(out.join("gpu_kernels.cu"), &program).expect("writing gpu_kernels.cu");
    fs::write(out.join("gpu_kernel_names.rs"), names_rs(&kernels))
        .expect("writing gpu_kernel_names.rs");
    fs::write(out.join("gpu_emu.cpp"), emulation_cpp(&kernels)).expect("writing gpu_emu.cpp");

    // The emulation rounds like the Rust code it is compared with: no fused multiply-adds.
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .file(out.join("gpu_emu.cpp"))
        .define("TTFS_EMULATE", None)
        .opt_level(2);
    if build.get_compiler().is_like_msvc() {
        build.flag("/fp:precise");
    } else {
        build.flag("-ffp-contract=off").flag("-O2");
    }
    build.compile("ttfs_gpu_emu");
}

/// Every `KERNEL name(type a, ...)` opening a line of `text` (the file `file`).
fn signatures(text: &str, file: &str) -> Vec<Signature> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("KERNEL") {
        let line_start = at == 0 || text.as_bytes()[at - 1] == b'\n';
        let rest = &text[at + "KERNEL".len()..];
        if !line_start || !rest.starts_with(char::is_whitespace) {
            continue;
        }
        let (open, close) = match (rest.find('('), rest.find(')')) {
            (Some(o), Some(c)) if o < c => (o, c),
            _ => panic!("{file}: a KERNEL without a parameter list"),
        };
        let name = rest[..open].trim().to_string();
        assert!(
            is_identifier(&name),
            "{file}: `KERNEL {name}(` is not `KERNEL name(`"
        );
        let list = strip_comments(&rest[open + 1..close]);
        let params = list.split(',').map(|p| parameter(p, &name, file)).collect();
        found.push(Signature { name, params });
    }
    found
}

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn strip_comments(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.find('\n').map_or("", |e| &r[e..]);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |e| &r[e + 2..]);
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// `const float* cur` into (`const float*`, `cur`). Only the types the launchers pass.
fn parameter(p: &str, kernel: &str, file: &str) -> (String, String) {
    let p = p.trim();
    let split = p
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or_else(|| panic!("{file}: {kernel}: parameter `{p}` has no type"));
    let (ty, name) = (&p[..=split], &p[split + 1..]);
    // One spelling per type: words separated by one space, `*` against the type.
    let ty = ty
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" *", "*");
    const TYPES: [&str; 7] = [
        "int",
        "float",
        "unsigned int",
        "float*",
        "const float*",
        "unsigned int*",
        "const unsigned int*",
    ];
    assert!(
        TYPES.contains(&ty.as_str()) && is_identifier(name),
        "{file}: {kernel}: parameter `{p}`: kernels take {TYPES:?}"
    );
    (ty, name.to_string())
}

fn names_rs(kernels: &[Signature]) -> String {
    let mut s = String::from(
        "// Generated by build.rs from the KERNEL signatures of src/kernels/gpu.\n\
         /// Every kernel of the GPU program, in source order.\n\
         pub const KERNEL_NAMES: &[&str] = &[\n",
    );
    for k in kernels {
        writeln!(s, "    \"{}\",", k.name).unwrap();
    }
    s.push_str("];\n");
    s
}

/// The emulation: the program, one launcher per kernel, and `ttfs_emu_launch`.
fn emulation_cpp(kernels: &[Signature]) -> String {
    let mut s = String::from(
        "// Generated by build.rs: the GPU kernels run on the CPU (the `emu` device).\n\
         #include \"gpu_kernels.cu\"\n\n\
         // Sets the launch shape and the thread coordinates of this OS thread.\n\
         static void ttfs_emu_shape(unsigned int grid, unsigned int block)\n{\n    \
         gridDim = ttfs_dim3{grid, 1, 1};\n    blockDim = ttfs_dim3{block, 1, 1};\n    \
         blockIdx = ttfs_dim3{0, 0, 0};\n    threadIdx = ttfs_dim3{0, 0, 0};\n}\n",
    );
    for k in kernels {
        // params[i] points to the i-th argument's value, as cuLaunchKernel reads them.
        writeln!(
            s,
            "\nstatic void ttfs_emu_{}(unsigned int grid, unsigned int block, void** params)\n{{",
            k.name
        )
        .unwrap();
        let mut args = Vec::new();
        for (i, (ty, name)) in k.params.iter().enumerate() {
            writeln!(
                s,
                "    {ty} const a{i} = *static_cast<{ty}*>(params[{i}]); // {name}"
            )
            .unwrap();
            args.push(format!("a{i}"));
        }
        writeln!(
            s,
            "    ttfs_emu_shape(grid, block);\n    \
             for (unsigned int bx = 0; bx < grid; bx++) {{\n        \
             blockIdx.x = bx;\n        \
             for (unsigned int tx = 0; tx < block; tx++) {{\n            \
             threadIdx.x = tx;\n            \
             {}({});\n        }}\n    }}\n}}",
            k.name,
            args.join(", ")
        )
        .unwrap();
    }
    s.push_str(
        "\nstruct ttfs_emu_kernel {\n    const char* name;\n    \
         void (*launch)(unsigned int, unsigned int, void**);\n};\n\n\
         static const ttfs_emu_kernel ttfs_emu_kernels[] = {\n",
    );
    for k in kernels {
        writeln!(s, "    {{\"{0}\", ttfs_emu_{0}}},", k.name).unwrap();
    }
    s.push_str(
        "};\n\n\
         extern \"C\" int ttfs_emu_launch(const char* name, unsigned int grid, unsigned int block,\n\
         \x20                               void** params)\n{\n    \
         for (const ttfs_emu_kernel& k : ttfs_emu_kernels) {\n        \
         if (strcmp(k.name, name) == 0) {\n            \
         k.launch(grid, block, params);\n            \
         return 0;\n        }\n    }\n    \
         return -1;\n}\n",
    );
    s
}
