//! The GPU backend on an NVIDIA GPU through `cudarc` 0.19 (feature `cuda`): the driver API,
//! the `.cu` kernels compiled by NVRTC when the backend starts, and cuBLAS for products. The
//! libraries are loaded at run time, so this builds without a CUDA toolkit and a binary built
//! with it runs (on the CPU) where no GPU or driver exists.
//!
//! One process uses one GPU: one context and one stream for the chosen ordinal, every launch,
//! copy and product in order on that stream. cudarc panics when a library is missing, so
//! [`backend`] checks each one first and turns every failure into one line.

use super::{Exec, Gpu, BLOCK, KERNEL_NAMES};
use crate::kernels::{Buf, Device, Elem, Kernels};
use cudarc::cublas::{self, CudaBlas};
use cudarc::driver::{
    self, CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DevicePtr,
};
use cudarc::nvrtc;
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The NVRTC program: `prelude.cuh` and every `.cu` file, concatenated by build.rs.
pub const KERNEL_SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/gpu_kernels.cu"));

static TF32: AtomicBool = AtomicBool::new(false);

/// Let cuBLAS products use TF32 tensor cores (10-bit mantissa products, faster; off by
/// default: products then round like FP32). Call before the backend starts.
pub fn set_tf32(on: bool) {
    TF32.store(on, Ordering::Relaxed);
}

/// The executor of a CUDA device.
pub struct CudaExec {
    ordinal: usize,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    blas: CudaBlas,
    functions: HashMap<&'static str, CudaFunction>,
    _module: Arc<CudaModule>,
}

/// The started backend (one GPU per process).
static BACKEND: OnceLock<Gpu<CudaExec>> = OnceLock::new();
/// Serializes starts, so that two threads never start two contexts.
static STARTING: Mutex<()> = Mutex::new(());

/// The GPU backend on `cuda:<ordinal>`, started on first use: loads the driver, NVRTC and
/// cuBLAS, creates the context and stream, compiles the kernels for the device's
/// architecture. A failure is one line naming what is missing (and is not remembered: a later
/// call tries again).
pub fn backend(ordinal: usize) -> anyhow::Result<&'static dyn Kernels> {
    let g = started(ordinal).map_err(|e| anyhow::anyhow!(e))?;
    Ok(g)
}

fn started(ordinal: usize) -> Result<&'static Gpu<CudaExec>, String> {
    let check = |g: &'static Gpu<CudaExec>| {
        if g.exec.ordinal == ordinal {
            Ok(g)
        } else {
            Err(format!(
                "--device cuda:{ordinal}: this process already runs on cuda:{} (one GPU per process)",
                g.exec.ordinal
            ))
        }
    };
    if let Some(g) = BACKEND.get() {
        return check(g);
    }
    let _lock = STARTING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(g) = BACKEND.get() {
        return check(g);
    }
    // cudarc panics on a missing symbol; whatever escapes the checks becomes an error too.
    let exec = crate::collective::catch_unwind(|| start(ordinal)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("panic");
        Err(format!(
            "--device cuda:{ordinal}: the CUDA libraries failed: {msg}"
        ))
    })?;
    let _ = BACKEND.set(Gpu::new(exec));
    check(BACKEND.get().expect("just set"))
}

/// The executor of an ordinal whose buffers exist (it started when they were made; started
/// here otherwise).
fn exec(ordinal: usize) -> &'static CudaExec {
    match started(ordinal) {
        Ok(g) => &g.exec,
        Err(e) => panic!("{e}"),
    }
}

fn start(ordinal: usize) -> Result<CudaExec, String> {
    let dev = format!("--device cuda:{ordinal}");
    // SAFETY: these only try to open the shared libraries.
    let (has_driver, has_nvrtc, has_cublas) = unsafe {
        (
            driver::sys::is_culib_present(),
            nvrtc::sys::is_culib_present(),
            cublas::sys::is_culib_present(),
        )
    };
    if !has_driver {
        return Err(format!(
            "{dev}: no NVIDIA driver (libcuda.so) on this machine"
        ));
    }
    if !has_nvrtc {
        return Err(format!(
            "{dev}: no NVRTC (libnvrtc.so, CUDA 13) on this machine; it compiles the GPU kernels \
             at start (put the CUDA libraries on LD_LIBRARY_PATH)"
        ));
    }
    if !has_cublas {
        return Err(format!(
            "{dev}: no cuBLAS (libcublas.so, CUDA 13) on this machine (put the CUDA libraries on \
             LD_LIBRARY_PATH)"
        ));
    }
    let count = CudaContext::device_count()
        .map_err(|e| format!("{dev}: the NVIDIA driver found no usable GPU ({e:?})"))?
        .max(0) as usize;
    if ordinal >= count {
        let s = if count == 1 { "" } else { "s" };
        return Err(format!(
            "{dev}: this machine has {count} GPU{s}, there is no cuda:{ordinal}"
        ));
    }
    let ctx = CudaContext::new(ordinal)
        .map_err(|e| format!("{dev}: could not create a CUDA context ({e:?})"))?;
    // SAFETY: every buffer is used on the one stream below only, so no per-buffer events are
    // needed to order streams.
    unsafe { ctx.disable_event_tracking() };
    let stream = ctx
        .new_stream()
        .map_err(|e| format!("{dev}: could not create a CUDA stream ({e:?})"))?;
    let (major, minor) = ctx
        .compute_capability()
        .map_err(|e| format!("{dev}: could not read the compute capability ({e:?})"))?;
    let arch = format!("sm_{major}{minor}");
    let cubin = compile(&arch).map_err(|e| format!("{dev}: {e}"))?.0;
    let module = ctx
        .load_module(nvrtc::Ptx::from_binary(cubin))
        .map_err(|e| {
            format!("{dev}: the driver rejected the kernels compiled for {arch} ({e:?})")
        })?;
    let mut functions = HashMap::new();
    for &name in KERNEL_NAMES {
        let f = module.load_function(name).map_err(|e| {
            format!("{dev}: kernel {name} is missing from the compiled module ({e:?})")
        })?;
        functions.insert(name, f);
    }
    let blas = CudaBlas::new(stream.clone())
        .map_err(|e| format!("{dev}: cuBLAS failed to start ({e:?})"))?;
    let mode = if TF32.load(Ordering::Relaxed) {
        cublas::sys::cublasMath_t::CUBLAS_TF32_TENSOR_OP_MATH
    } else {
        cublas::sys::cublasMath_t::CUBLAS_DEFAULT_MATH
    };
    // SAFETY: a live handle.
    unsafe { cublas::sys::cublasSetMathMode(*blas.handle(), mode) }
        .result()
        .map_err(|e| format!("{dev}: cuBLAS refused its math mode ({e:?})"))?;
    Ok(CudaExec {
        ordinal,
        ctx,
        stream,
        blas,
        functions,
        _module: module,
    })
}

/// NVRTC's compile of [`KERNEL_SOURCE`] for `arch` (`sm_XY`) to a CUBIN (not PTX: a newer
/// NVRTC writes PTX that an older driver rejects), with every kernel of [`KERNEL_NAMES`]
/// registered as a name expression (compiling fails naming any that does not exist). Returns
/// the CUBIN and how many kernel names its symbol table holds.
fn compile(arch: &str) -> Result<(Vec<u8>, usize), String> {
    // SAFETY: only tries to open the library.
    if !unsafe { nvrtc::sys::is_culib_present() } {
        return Err("no NVRTC (libnvrtc.so, CUDA 13) on this machine".into());
    }
    let src = CString::new(KERNEL_SOURCE)
        .map_err(|_| "the kernel source holds a NUL byte".to_string())?;
    let prog = Program(
        nvrtc::result::create_program(&src, Some(c"gpu_kernels.cu"))
            .map_err(|e| format!("NVRTC could not create the program ({e:?})"))?,
    );
    let names: Vec<CString> = KERNEL_NAMES
        .iter()
        .map(|n| CString::new(*n).expect("kernel names have no NUL"))
        .collect();
    for n in &names {
        // SAFETY: a live program and a NUL-terminated name.
        unsafe { nvrtc::sys::nvrtcAddNameExpression(prog.0, n.as_ptr()) }
            .result()
            .map_err(|e| format!("NVRTC: {e:?}"))?;
    }
    let opts = [
        format!("--gpu-architecture={arch}"),
        "--fmad=false".to_string(),
        "--ftz=false".to_string(),
        "--prec-div=true".to_string(),
        "--prec-sqrt=true".to_string(),
    ];
    // SAFETY: a live program.
    if let Err(e) = unsafe { nvrtc::result::compile_program(prog.0, &opts) } {
        let log = prog.log();
        // The error lines of the log, on one line.
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("error"))
            .map(str::trim)
            .collect();
        return Err(format!(
            "NVRTC failed to compile the GPU kernels for {arch} ({e:?}): {}",
            if errors.is_empty() {
                log.trim().replace('\n', " | ")
            } else {
                errors.join(" | ")
            }
        ));
    }
    let mut size = 0usize;
    let mut cubin = Vec::new();
    // SAFETY: a compiled program; the buffer holds the size NVRTC reported.
    unsafe {
        nvrtc::sys::nvrtcGetCUBINSize(prog.0, &mut size)
            .result()
            .map_err(|e| format!("NVRTC gave no CUBIN for {arch} ({e:?})"))?;
        cubin.resize(size, 0u8);
        nvrtc::sys::nvrtcGetCUBIN(prog.0, cubin.as_mut_ptr() as *mut c_char)
            .result()
            .map_err(|e| format!("NVRTC gave no CUBIN for {arch} ({e:?})"))?;
    }
    let mut found = 0;
    for n in &names {
        let mut lowered: *const c_char = std::ptr::null();
        // SAFETY: a compiled program with this name expression; the result lives as long as it.
        let name = unsafe {
            nvrtc::sys::nvrtcGetLoweredName(prog.0, n.as_ptr(), &mut lowered)
                .result()
                .map_err(|e| format!("NVRTC: no lowered name for {n:?} ({e:?})"))?;
            CStr::from_ptr(lowered).to_bytes().to_vec()
        };
        // A symbol of the CUBIN's string table: NUL, name, NUL.
        let mut sym = vec![0u8];
        sym.extend_from_slice(&name);
        sym.push(0);
        if cubin.windows(sym.len()).any(|w| w == sym.as_slice()) {
            found += 1;
        }
    }
    Ok((cubin, found))
}

/// An NVRTC program, destroyed on drop.
struct Program(nvrtc::sys::nvrtcProgram);

impl Program {
    fn log(&self) -> String {
        // SAFETY: a live program; the log is NUL-terminated.
        match unsafe { nvrtc::result::get_program_log(self.0) } {
            Ok(log) => unsafe { CStr::from_ptr(log.as_ptr()) }
                .to_string_lossy()
                .into_owned(),
            Err(e) => format!("(no log: {e:?})"),
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: created by create_program, destroyed once.
        let _ = unsafe { nvrtc::result::destroy_program(self.0) };
    }
}

/// Whether NVRTC's library can be loaded (what [`compile_check`] needs).
pub fn nvrtc_present() -> bool {
    // SAFETY: only tries to open the library.
    unsafe { nvrtc::sys::is_culib_present() }
}

/// Compiles the GPU kernels for `arch` (e.g. `sm_90`) with NVRTC alone (no GPU or driver
/// needed: CI runs it) and returns how many of [`KERNEL_NAMES`] the CUBIN holds.
pub fn compile_check(arch: &str) -> Result<usize, String> {
    compile(arch).map(|(_, found)| found)
}

impl CudaExec {
    fn bind(&self) {
        if let Err(e) = self.ctx.bind_to_thread() {
            panic!("cuda:{}: CUDA context error ({e:?})", self.ordinal);
        }
    }

    fn sync(&self) {
        if let Err(e) = self.stream.synchronize() {
            panic!("cuda:{}: a GPU operation failed ({e:?})", self.ordinal);
        }
    }
}

impl Exec for CudaExec {
    fn name(&self) -> &'static str {
        "cuda"
    }

    fn device(&self) -> Device {
        Device::Cuda(self.ordinal)
    }

    fn addr<T: Elem>(&self, b: &Buf<T>) -> u64 {
        match b {
            Buf::Cuda(d) => d.addr(),
            _ => panic!("the CUDA backend got a buffer on {}", b.device()),
        }
    }

    fn addr_mut<T: Elem>(&self, b: &mut Buf<T>) -> u64 {
        self.addr(b)
    }

    fn launch(&self, kernel: &str, threads: usize, params: &mut [*mut c_void]) {
        let f = self
            .functions
            .get(kernel)
            .unwrap_or_else(|| panic!("no GPU kernel named {kernel}"));
        let grid = u32::try_from(threads.div_ceil(BLOCK)).expect("grid fits 32 bits");
        self.bind();
        // SAFETY: `params` holds one pointer per argument of `kernel`, each to a live value of
        // the argument's type; device pointers address buffers of the sizes the kernel uses.
        let r = unsafe {
            driver::result::launch_kernel(
                f.cu_function(),
                (grid, 1, 1),
                (BLOCK as u32, 1, 1),
                0,
                self.stream.cu_stream(),
                params,
            )
        };
        if let Err(e) = r {
            panic!(
                "cuda:{}: kernel {kernel} failed to launch ({e:?})",
                self.ordinal
            );
        }
    }

    fn sgemm(
        &self,
        transa: bool,
        transb: bool,
        m: usize,
        n: usize,
        k: usize,
        alpha: f32,
        a: u64,
        lda: usize,
        b: u64,
        ldb: usize,
        beta: f32,
        c: u64,
        ldc: usize,
    ) {
        use cublas::sys::cublasOperation_t::{CUBLAS_OP_N, CUBLAS_OP_T};
        let op = |t: bool| if t { CUBLAS_OP_T } else { CUBLAS_OP_N };
        let i = |x: usize| i32::try_from(x).expect("GEMM sizes fit cuBLAS's 32-bit ints");
        self.bind();
        // SAFETY: the caller passes device addresses of matrices of the stated shapes.
        let r = unsafe {
            cublas::result::sgemm(
                *self.blas.handle(),
                op(transa),
                op(transb),
                i(m),
                i(n),
                i(k),
                &alpha,
                a as *const f32,
                i(lda),
                b as *const f32,
                i(ldb),
                &beta,
                c as *mut f32,
                i(ldc),
            )
        };
        if let Err(e) = r {
            panic!(
                "cuda:{}: cuBLAS SGEMM {m}x{n}x{k} failed ({e:?})",
                self.ordinal
            );
        }
    }

    fn synchronize(&self) {
        self.bind();
        self.sync();
    }

    fn memcpy(&self, dst: u64, src: u64, bytes: usize) {
        self.bind();
        // SAFETY: two device buffers of at least `bytes` bytes.
        let r =
            unsafe { driver::result::memcpy_dtod_async(dst, src, bytes, self.stream.cu_stream()) };
        if let Err(e) = r {
            panic!("cuda:{}: device copy failed ({e:?})", self.ordinal);
        }
    }
}

/// The device address of an allocation.
fn slice_addr<T>(m: &CudaSlice<T>) -> u64 {
    // Event tracking is off (one stream): the guard records nothing.
    m.device_ptr(m.stream()).0
}

/// Device memory of a [`Buf::Cuda`]: `len` values in an allocation of at least that many.
pub struct DevBuf<T: Elem> {
    ordinal: usize,
    len: usize,
    mem: Option<CudaSlice<T>>,
}

impl<T: Elem> DevBuf<T> {
    /// No values (and no allocation) on `cuda:<ordinal>`.
    pub fn empty(ordinal: usize) -> Self {
        DevBuf {
            ordinal,
            len: 0,
            mem: None,
        }
    }

    pub fn ordinal(&self) -> usize {
        self.ordinal
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Values the allocation holds.
    pub fn capacity(&self) -> usize {
        self.mem.as_ref().map_or(0, |m| m.len())
    }

    /// Device address of the first value (0 without an allocation).
    pub fn addr(&self) -> u64 {
        match &self.mem {
            Some(m) => slice_addr(m),
            None => 0,
        }
    }

    /// Zeros values `from..to` (in order with launches).
    fn zero_range(&self, ex: &CudaExec, from: usize, to: usize) {
        if to <= from {
            return;
        }
        let size = std::mem::size_of::<T>();
        ex.bind();
        // SAFETY: the range lies inside the allocation.
        let r = unsafe {
            driver::result::memset_d8_async(
                self.addr() + (from * size) as u64,
                0,
                (to - from) * size,
                ex.stream.cu_stream(),
            )
        };
        if let Err(e) = r {
            panic!("cuda:{}: memset failed ({e:?})", self.ordinal);
        }
    }

    /// A new allocation of `n` values (contents undefined).
    fn alloc(&self, ex: &CudaExec, n: usize) -> CudaSlice<T> {
        // SAFETY: every value is written (zeroed or copied) before it is read.
        match unsafe { ex.stream.alloc::<T>(n) } {
            Ok(m) => m,
            Err(e) => panic!(
                "cuda:{}: could not allocate {:.1} MiB of GPU memory ({e:?})",
                self.ordinal,
                (n * std::mem::size_of::<T>()) as f64 / (1 << 20) as f64
            ),
        }
    }

    /// `n` values as `Vec::resize` leaves them: with `zero`, all zeros; otherwise the first
    /// `min(len, n)` kept and any new ones zero. Grows by reallocating.
    pub fn resize(&mut self, n: usize, zero: bool) {
        if n == 0 {
            self.len = 0;
            return;
        }
        let ex = exec(self.ordinal);
        if n > self.capacity() {
            let new = self.alloc(ex, n);
            let keep = if zero { 0 } else { self.len };
            if keep > 0 {
                ex.memcpy(
                    slice_addr(&new),
                    self.addr(),
                    keep * std::mem::size_of::<T>(),
                );
            }
            // The old allocation is freed in stream order, after the copy.
            self.mem = Some(new);
            self.zero_range(ex, keep, n);
        } else if zero {
            self.zero_range(ex, 0, n);
        } else {
            self.zero_range(ex, self.len, n);
        }
        self.len = n;
    }

    /// The values, copied to the host (waits for the stream).
    pub fn to_host(&self) -> Vec<T> {
        let Some(m) = &self.mem else {
            return Vec::new();
        };
        if self.len == 0 {
            return Vec::new();
        }
        let ex = exec(self.ordinal);
        ex.bind();
        let v = ex
            .stream
            .clone_dtoh(&m.slice(0..self.len))
            .unwrap_or_else(|e| panic!("cuda:{}: copy to the host failed ({e:?})", self.ordinal));
        ex.sync();
        v
    }

    /// Replaces the values by `src`.
    pub fn write(&mut self, src: &[T]) {
        let n = src.len();
        self.len = 0;
        if n == 0 {
            return;
        }
        let ex = exec(self.ordinal);
        if n > self.capacity() {
            self.mem = Some(self.alloc(ex, n));
        }
        let m = self.mem.as_mut().expect("allocated");
        ex.bind();
        if let Err(e) = ex.stream.memcpy_htod(src, &mut m.slice_mut(0..n)) {
            panic!("cuda:{}: copy to the GPU failed ({e:?})", self.ordinal);
        }
        // The source is host memory the caller may free or change at once.
        ex.sync();
        self.len = n;
    }
}

impl<T: Elem> Clone for DevBuf<T> {
    fn clone(&self) -> Self {
        let mut c = DevBuf::empty(self.ordinal);
        if self.len > 0 {
            let ex = exec(self.ordinal);
            let m = c.alloc(ex, self.len);
            ex.memcpy(
                slice_addr(&m),
                self.addr(),
                self.len * std::mem::size_of::<T>(),
            );
            c.mem = Some(m);
            c.len = self.len;
        }
        c
    }
}
