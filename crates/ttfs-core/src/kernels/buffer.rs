//! Storage of numbers on the device a run uses: a host `Vec` for the CPU backend, device
//! memory for a GPU backend (candle's storage enum). Layers hold `Buf`s and hand them to the
//! kernels of the buffer's device ([`Buf::kernels`]); they never look inside.
//!
//! `Emu` is host memory owned by the GPU backend run on the CPU (its CUDA C kernels compiled
//! by the C compiler, see `kernels/gpu`): it behaves like device memory (no host view), so the
//! tests that train on it prove that the model code path never reads a device buffer on the
//! host.

use super::{Device, Kernels};
use std::borrow::Cow;

/// Element types a buffer holds.
#[cfg(not(feature = "cuda"))]
pub trait Elem: Copy + Default + PartialEq + std::fmt::Debug + Send + Sync + 'static {}
#[cfg(feature = "cuda")]
pub trait Elem:
    Copy
    + Default
    + PartialEq
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
    + cudarc::driver::DeviceRepr
    + cudarc::driver::ValidAsZeroBits
{
}
impl Elem for f32 {}
impl Elem for u32 {}

pub enum Buf<T: Elem> {
    /// CPU backend.
    Host(Vec<T>),
    /// GPU backend emulated on the CPU (tests).
    Emu(Vec<T>),
    #[cfg(feature = "cuda")]
    Cuda(super::gpu::cuda::DevBuf<T>),
}

impl<T: Elem> Default for Buf<T> {
    fn default() -> Self {
        Buf::Host(Vec::new())
    }
}

impl<T: Elem> Clone for Buf<T> {
    fn clone(&self) -> Self {
        match self {
            Buf::Host(v) => Buf::Host(v.clone()),
            Buf::Emu(v) => Buf::Emu(v.clone()),
            #[cfg(feature = "cuda")]
            Buf::Cuda(d) => Buf::Cuda(d.clone()),
        }
    }
}

impl<T: Elem> std::fmt::Debug for Buf<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Buf::Host(v) => v.fmt(f),
            _ => write!(f, "<{} values on {}>", self.len(), self.device()),
        }
    }
}

/// Buffers compare by value (tests), wherever they live.
impl<T: Elem> PartialEq for Buf<T> {
    fn eq(&self, other: &Self) -> bool {
        self.device() == other.device() && self.read() == other.read()
    }
}

impl<T: Elem> Buf<T> {
    /// `n` zeros on `device`.
    pub fn zeros(device: Device, n: usize) -> Self {
        let mut b = Buf::empty(device);
        b.reset(device, n);
        b
    }

    /// An empty buffer on `device`.
    pub fn empty(device: Device) -> Self {
        match device {
            Device::Cpu => Buf::Host(Vec::new()),
            Device::Emu => Buf::Emu(Vec::new()),
            #[cfg(feature = "cuda")]
            Device::Cuda(i) => Buf::Cuda(super::gpu::cuda::DevBuf::empty(i)),
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(_) => unreachable!("no CUDA device exists without the cuda feature"),
        }
    }

    /// The values `v`, on `device`.
    pub fn from_vec(device: Device, v: Vec<T>) -> Self {
        match device {
            Device::Cpu => Buf::Host(v),
            Device::Emu => Buf::Emu(v),
            _ => {
                let mut b = Buf::empty(device);
                b.write(&v);
                b
            }
        }
    }

    pub fn device(&self) -> Device {
        match self {
            Buf::Host(_) => Device::Cpu,
            Buf::Emu(_) => Device::Emu,
            #[cfg(feature = "cuda")]
            Buf::Cuda(d) => Device::Cuda(d.ordinal()),
        }
    }

    /// The kernels of the device this buffer lives on.
    pub fn kernels(&self) -> &'static dyn Kernels {
        self.device()
            .kernels()
            .expect("a buffer exists on this device, so its backend started")
    }

    pub fn len(&self) -> usize {
        match self {
            Buf::Host(v) | Buf::Emu(v) => v.len(),
            #[cfg(feature = "cuda")]
            Buf::Cuda(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Make this `n` zeros on `device`, reusing the allocation when it is on `device` and
    /// large enough (buffers are sized once per batch shape, not per step).
    pub fn reset(&mut self, device: Device, n: usize) {
        if self.device() != device {
            *self = Buf::empty(device);
        }
        match self {
            Buf::Host(v) | Buf::Emu(v) => {
                v.clear();
                v.resize(n, T::default());
            }
            #[cfg(feature = "cuda")]
            Buf::Cuda(d) => d.resize(n, true),
        }
    }

    /// Make this `n` values on `device` for a writer that overwrites every one: old values are
    /// left in place instead of being zeroed.
    pub fn resize_for_overwrite(&mut self, device: Device, n: usize) {
        if self.device() != device {
            *self = Buf::empty(device);
        }
        match self {
            Buf::Host(v) | Buf::Emu(v) => v.resize(n, T::default()),
            #[cfg(feature = "cuda")]
            Buf::Cuda(d) => d.resize(n, false),
        }
    }

    /// The values on the host (borrowed on the CPU backend, copied from a device).
    pub fn read(&self) -> Cow<'_, [T]> {
        match self {
            Buf::Host(v) | Buf::Emu(v) => Cow::Borrowed(v),
            #[cfg(feature = "cuda")]
            Buf::Cuda(d) => Cow::Owned(d.to_host()),
        }
    }

    /// A host copy of the values.
    pub fn to_vec(&self) -> Vec<T> {
        self.read().into_owned()
    }

    /// Replace the values by `src` (its length), on the buffer's device.
    pub fn write(&mut self, src: &[T]) {
        match self {
            Buf::Host(v) | Buf::Emu(v) => {
                v.clear();
                v.extend_from_slice(src);
            }
            #[cfg(feature = "cuda")]
            Buf::Cuda(d) => d.write(src),
        }
    }

    /// The same values on `device`.
    pub fn to_device(&self, device: Device) -> Self {
        if self.device() == device {
            return self.clone();
        }
        Buf::from_vec(device, self.to_vec())
    }

    /// The host values of a CPU-backend buffer. Kernels of the CPU backend and host-side code
    /// (data assembly, tests) use it; a device buffer has no host view (use [`Buf::read`]).
    pub fn host(&self) -> &[T] {
        match self {
            Buf::Host(v) => v,
            _ => panic!(
                "a buffer on {} was read as host memory (copy it with read/to_vec)",
                self.device()
            ),
        }
    }

    pub fn host_mut(&mut self) -> &mut Vec<T> {
        match self {
            Buf::Host(v) => v,
            _ => panic!(
                "a buffer on {} was written as host memory (use write)",
                self.device()
            ),
        }
    }

    /// Host memory of the emulated GPU backend (its kernels only).
    pub fn emu(&self) -> &[T] {
        match self {
            Buf::Emu(v) => v,
            _ => panic!("the emulated GPU backend got a buffer on {}", self.device()),
        }
    }

    pub fn emu_mut(&mut self) -> &mut [T] {
        match self {
            Buf::Emu(v) => v,
            _ => panic!("the emulated GPU backend got a buffer on {}", self.device()),
        }
    }
}

/// Host-side code (tests, data assembly, checkpoints of CPU models) reads CPU buffers as
/// slices; on a device buffer this is a bug and says so.
impl<T: Elem> std::ops::Deref for Buf<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.host()
    }
}

impl<T: Elem> std::ops::DerefMut for Buf<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.host_mut()
    }
}

impl<T: Elem> From<Vec<T>> for Buf<T> {
    fn from(v: Vec<T>) -> Self {
        Buf::Host(v)
    }
}

impl<'a, T: Elem> IntoIterator for &'a Buf<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.host().iter()
    }
}

impl<T: Elem> FromIterator<T> for Buf<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Buf::Host(iter.into_iter().collect())
    }
}
