//! How [`super::Gpu`] launches a kernel: its arguments as [`Arg`]s (pointers, `int`s,
//! `float`s), each written into an 8-byte slot that the `params` array handed to the
//! executor points at, as `cuLaunchKernel` takes them.

use super::{Exec, Gpu};
use std::ffi::c_void;

/// One kernel argument.
#[derive(Clone, Copy)]
pub(super) enum Arg {
    /// A device pointer (`float*`, `const unsigned int*`, ...).
    Ptr(u64),
    /// `int` (sizes and 0/1 flags).
    Int(i32),
    /// `float`.
    F32(f32),
}

/// A size as a kernel's `int` argument.
pub(super) fn int(x: usize) -> Arg {
    Arg::Int(i32::try_from(x).unwrap_or_else(|_| {
        panic!("GPU backend: size {x} does not fit the kernels' 32-bit int arguments")
    }))
}

pub(super) fn flag(b: bool) -> Arg {
    Arg::Int(b as i32)
}

/// `args![a, b; rest]`: a `Vec<Arg>` of single arguments followed by the items of arrays.
macro_rules! args {
    ($($a:expr),* $(; $($rest:expr),+)?) => {{
        #[allow(unused_mut)]
        let mut v: Vec<Arg> = vec![$($a),*];
        $($(v.extend_from_slice(&$rest);)+)?
        v
    }};
}
pub(super) use args;

impl<E: Exec> Gpu<E> {
    /// Launches `kernel` on `threads` threads with `args` (in the kernel's order).
    pub(super) fn run(&self, kernel: &str, threads: usize, args: &[Arg]) {
        if threads == 0 {
            return;
        }
        const MAX_ARGS: usize = 16;
        assert!(args.len() <= MAX_ARGS, "{kernel}: too many arguments");
        // Every argument's value in an 8-byte slot; params[i] points to slot i.
        let mut slots = [0u64; MAX_ARGS];
        let mut params = [std::ptr::null_mut::<c_void>(); MAX_ARGS];
        let base = slots.as_mut_ptr();
        for (i, a) in args.iter().enumerate() {
            // SAFETY: i < MAX_ARGS, and a u64 slot is large and aligned enough for each type.
            unsafe {
                let p = base.add(i);
                match *a {
                    Arg::Ptr(v) => p.write(v),
                    Arg::Int(v) => p.cast::<i32>().write(v),
                    Arg::F32(v) => p.cast::<f32>().write(v),
                }
                params[i] = p.cast();
            }
        }
        self.exec.launch(kernel, threads, &mut params[..args.len()]);
    }
}
