"""ttfs: train time-to-first-spike spiking neural networks from Python.

A thin layer over the ttfs Rust crate (``ttfs._ttfs``): every computation -- training,
evaluation, the energy report, event-driven inference, spike and membrane traces, the NIR
export -- is the crate's, the same code the ``ttfs`` command line runs. This module only turns
numpy arrays, torch tensors, data loaders and dicts into what the crate takes, and its JSON
records into dicts.

    import ttfs
    x_train, y_train, x_test, y_test, scale = ttfs.load_data("digits")
    model = ttfs.Model(spec="fc256 if fc10")
    model.fit(x_train[:-200], y_train[:-200], validation=(x_train[-200:], y_train[-200:]),
              scale=scale, epochs=30)                # validation: held-out training images
    model.evaluate(x_test, y_test)["accuracy"]      # the model remembers the scale

Images are ``[N, C, H, W]`` (or ``[N, H, W]``, one channel, or ``[N, F]``) numpy arrays or
torch tensors: integer values times ``scale``, or floats in [0, 1] (intensities, stored as
``uint8`` steps of 1/255 like every ttfs data set). Every error is a :class:`TtfsError` (a
``ValueError``) with the command line's message.
"""

import json
import math
import sys
import time
import warnings

import numpy as np

from . import _ttfs
from ._ttfs import CUDA, PJ_PER_AC, PJ_PER_MAC, TtfsError, __version__

__all__ = [
    "Model",
    "EarlyStopping",
    "TtfsError",
    "TtfsWarning",
    "load",
    "load_data",
    "set_threads",
    "CUDA",
    "PJ_PER_AC",
    "PJ_PER_MAC",
    "__version__",
]

# Whole numbers the crate takes (counts, sizes) stay far below this; larger ones are refused
# here with a message instead of an OverflowError from the conversion.
_MAX_COUNT = 2**40

# Within an epoch of a data loader, a progress line this often (seconds), as the crate's loop.
_PROGRESS_EVERY = 10.0


class TtfsWarning(UserWarning):
    """Something ttfs did that may not be what was meant (it went on)."""


def _count(name, v, lo=1):
    """``v`` as a whole number of at least ``lo`` (booleans and floats refused)."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TtfsError(f"{name} must be a whole number, got {v!r}")
    if v < lo:
        raise TtfsError(f"{name} must be at least {lo}, got {v}")
    if v > _MAX_COUNT:
        raise TtfsError(f"{name} = {v} is too large (at most 2**40)")
    return int(v)


def _torch_tensor(x):
    """Whether ``x`` is a torch tensor (torch itself is not imported for that)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _host(x):
    """``x`` as a numpy array, sharing memory where it can: a CPU torch tensor (or any
    DLPack or ``__array__`` producer) is not copied; a GPU tensor is copied to host memory,
    where the model reads its input from."""
    if isinstance(x, np.ndarray):
        return x
    if _torch_tensor(x):
        x = x.detach()
        if x.device.type != "cpu":
            x = x.cpu()
        if x.dtype in (sys.modules["torch"].bfloat16,):
            x = x.float()  # numpy has no bfloat16
        return x.numpy()
    if hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except (TypeError, ValueError, BufferError, RuntimeError) as e:
            if not hasattr(x, "__array__"):
                raise TtfsError(
                    f"cannot read a {type(x).__name__} through DLPack ({e}): copy it to host "
                    "memory (a numpy array) first") from None
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as e:
        raise TtfsError(f"cannot read a {type(x).__name__} as an array: {e}") from None


def _is_array(x):
    """An array or tensor (not a list or iterable of batches)."""
    return isinstance(x, np.ndarray) or hasattr(x, "__array__") or hasattr(x, "__dlpack__")


def _like(x):
    """How results are handed back for input ``x``: torch tensors (no copy; on the input's
    device, which for a GPU is a copy) for a torch tensor, else numpy arrays."""
    if not _torch_tensor(x):
        return lambda a: a
    torch = sys.modules["torch"]
    device = x.device
    if device.type == "cpu":
        return torch.from_numpy
    return lambda a: torch.from_numpy(a).to(device)


def _images4(x):
    x = _host(x)
    if x.ndim == 2:
        x = x[:, None, None, :]
    elif x.ndim == 3:
        x = x[:, None, :, :]
    elif x.ndim != 4:
        raise TtfsError(f"images must be [N, C, H, W], [N, H, W] or [N, F], got shape "
                        f"{tuple(x.shape)}")
    return x


def _images(x, scale, stored):
    """``x`` as contiguous uint8 ``[N, C, H, W]``, the intensity of one step of its values,
    and whether that scale belongs to the data (integer images: the model may keep it).

    ``scale`` is the caller's (None: not given), ``stored`` the model's. Integer images
    without either are taken at 1/255 when they look like 8-bit images (a value above 127);
    otherwise the scale cannot be guessed and is asked for: a wrong guess would give wrong
    results without a word (the digits' values 0 to 16 at 1/255 are nearly black)."""
    x = _images4(x)
    if np.issubdtype(x.dtype, np.floating):
        if scale is not None:
            raise TtfsError(
                "scale= applies to integer images; float images are intensities in [0, 1] "
                "already (leave scale out)")
        if x.size and not (np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0):
            raise TtfsError(
                "float images must hold intensities in [0, 1] (normalized tensors: give the "
                "intensities before normalizing; the model normalizes with data.normalize)")
        return np.ascontiguousarray(np.rint(x * 255.0).astype(np.uint8)), 1.0 / 255.0, False
    if x.dtype == np.bool_:
        return np.ascontiguousarray(x.astype(np.uint8)), (1.0 if scale is None else scale), False
    if not np.issubdtype(x.dtype, np.integer):
        raise TtfsError(f"images of dtype {x.dtype} are not supported (integers or floats)")
    lo, hi = (int(x.min()), int(x.max())) if x.size else (0, 0)
    if lo < 0 or hi > 255:
        raise TtfsError(f"integer images must hold values 0 to 255 (times scale: "
                        f"intensities), got {lo} to {hi}")
    if scale is None:
        if stored is not None:
            scale = stored
        elif hi > 127 or not x.size:
            scale = 1.0 / 255.0
        else:
            raise TtfsError(
                f"integer images with values 0 to {hi} and no scale: give scale= (the "
                f"intensity of one step: 1/{hi} if {hi} is full intensity, 1/255 for 8-bit "
                "images; ttfs.load_data returns it), or float intensities in [0, 1]. The model "
                "keeps the scale it is trained with")
    else:
        if isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)) or not (
                math.isfinite(scale) and scale > 0):
            raise TtfsError(f"scale must be a positive number, got {scale!r}")
        if hi * scale > 1.0 + 1e-6:
            raise TtfsError(f"integer images with values up to {hi} at scale {scale:g} reach "
                            f"intensity {hi * scale:g}; intensities end at 1 (is scale right?)")
        if stored is not None and not math.isclose(scale, stored, rel_tol=1e-6):
            warnings.warn(TtfsWarning(
                f"scale={scale:g} differs from the scale the model was trained with "
                f"({stored:g})"), stacklevel=4)
    return np.ascontiguousarray(x.astype(np.uint8)), float(scale), True


def _labels(y, n=None):
    if y is None:
        return None
    y = _host(y)
    if not (np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_):
        raise TtfsError(f"labels must be class numbers (integers), got dtype {y.dtype}")
    if y.ndim != 1:
        raise TtfsError(f"labels must be one class number per sample, shape [N], got shape "
                        f"{tuple(y.shape)} (one-hot labels: y.argmax(1))")
    if n is not None and len(y) != n:
        raise TtfsError(f"{n} images but {len(y)} labels (one label per image)")
    return np.ascontiguousarray(y.astype(np.int64))


def _toml_literal(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_literal(e) for e in v) + "]"
    raise TtfsError(f"setting value {v!r} is not a bool, number, string or list")


def _overrides(settings, prefix=""):
    """``{"optimizer.lr": 1e-3}`` or ``{"optimizer": {"lr": 1e-3}}`` as ``--set`` strings."""
    if settings is not None and not isinstance(settings, dict):
        raise TtfsError(f"settings must be a dict, got {type(settings).__name__}")
    out = []
    for k, v in (settings or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out += _overrides(v, key + ".")
        else:
            out.append(f"{key}={_toml_literal(v)}")
    return out


def _metrics(m):
    """An epoch's metrics; without evaluation data ``eval`` is None, not a result of 0."""
    if m.get("eval", {}).get("samples", 0) == 0:
        m["eval"] = None
        m["eval_split"] = None
    return m


def _pairs(batches):
    """The ``(x, y)`` pairs of an iterable of batches (a DataLoader yields lists)."""
    for b in batches:
        if not (isinstance(b, (tuple, list)) and len(b) == 2):
            raise TtfsError(f"batches must be (x, y) pairs, got a {type(b).__name__}"
                            + (f" of {len(b)}" if isinstance(b, (tuple, list)) else ""))
        yield b


class Model:
    """A TTFS network.

    ``Model(config=None, *, spec=None, settings=None, input_shape=None, data=None,
    data_dir=None, device="cpu")``

    - ``config``: a TOML config file's path (``configs/mnist.toml``), a dict of sections
      (``{"model": {"spec": "fc256 if fc10"}, "train": {"epochs": 5}}``) or None (the embedded
      digits default of ``ttfs train``);
    - ``spec``: the model spec (shorthand for the setting ``model.spec``);
    - ``settings``: overrides, ``{"optimizer.lr": 3e-3}`` (as ``--set``);
    - ``data``: the data set name (``data.name``); ``input_shape``: ``[C, H, W]`` of the
      images (default: the data set's);
    - ``device``: ``"cpu"``, or ``"cuda"`` / ``"cuda:N"`` with a CUDA build
      (``ttfs.CUDA``; docs/python.md).

    The initialization is the one ``ttfs train`` starts from with the same config and seed.
    """

    def __init__(self, config=None, *, spec=None, settings=None, input_shape=None, data=None,
                 data_dir=None, device="cpu", _core=None):
        self._busy = False
        if _core is not None:
            self._core = _core
            return
        sets = _overrides(settings)
        if spec is not None and not isinstance(spec, str):
            raise TtfsError(f"spec must be a string such as \"fc256 if fc10\", got {spec!r}")
        if spec is not None:
            sets.append(f"model.spec={_toml_literal(spec)}")
        if data is not None:
            sets.append(f"data.name={_toml_literal(data)}")
        if input_shape is not None:
            # 0 reaches the crate, whose size checks say what is wrong with the shape.
            input_shape = [_count("input_shape entries", d, lo=0) for d in input_shape]
            if len(input_shape) == 1:
                input_shape = [1, 1] + input_shape
            elif len(input_shape) == 2:
                input_shape = [1] + input_shape
        cfg = str(config) if config is not None and not isinstance(config, dict) else config
        self._core = _ttfs.Core(cfg, sets, input_shape, data_dir, str(device))

    def _c(self):
        """The crate's model, unless it is inside a training step (an ``on_step`` callback
        runs while the step holds it)."""
        if self._busy:
            raise TtfsError("the model is inside a training step: read or change it in the "
                            "epoch callback (callback=), or stop training first")
        return self._core

    # ---- properties ----------------------------------------------------------------------

    @property
    def config(self):
        """The resolved config as TOML text (every key)."""
        return self._c().config_toml

    @property
    def time_steps(self):
        return self._c().time_steps

    @property
    def classes(self):
        return self._c().classes

    @property
    def input_shape(self):
        return tuple(self._c().input_shape)

    @property
    def device(self):
        return self._c().device

    @property
    def epochs(self):
        """Epochs trained so far."""
        return self._c().epochs

    @property
    def input_scale(self):
        """The intensity of one step of the integer images the model was trained on (saved
        with it), used when ``scale=`` is left out; None until known."""
        return self._c().input_scale

    @property
    def layer_names(self):
        """Every layer's name, then the output's: ``fc1``, ``if1``, ``pool1``, ``flatten1``,
        ..., ``out`` (spiking output) or ``readout`` (membrane readout). The same names in
        evaluations, first-spike times, traces and the NIR graph."""
        return list(self._c().layer_names)

    @property
    def spiking_layers(self):
        """The layers whose outputs are spikes (``if1``, ...), or pooled spikes (``pool1``),
        then ``out`` for a spiking output: the keys of ``first_spike_times`` and
        ``spike_trains``."""
        return list(self._c().spiking_layers)

    def summary(self):
        """Layers, shapes, parameters and operations, as ``ttfs info`` prints them."""
        return self._c().summary()

    def __repr__(self):
        return (f"ttfs.Model(input {self.input_shape}, T = {self.time_steps}, "
                f"{self.classes} classes)")

    # ---- inputs --------------------------------------------------------------------------------

    def _x(self, x, scale):
        """Images ``x`` as the crate takes them: ``(uint8 [N, C, H, W], scale)``."""
        u8, s, _ = _images(x, scale, self._c().input_scale)
        return u8, s

    def _data(self, batches, scale):
        """All ``(x, y)`` batches of an iterable, as one pair of arrays."""
        xs, ys, scale_seen = [], [], None
        for bx, by in _pairs(batches):
            u8, s = self._x(bx, scale)
            if scale_seen is not None and s != scale_seen:
                raise TtfsError("the batches have different scales (integer and float images)")
            scale_seen = s
            xs.append(u8)
            ys.append(_labels(by, len(u8)))
        if not xs:
            raise TtfsError("the data loader gave no batches")
        return np.concatenate(xs), scale_seen, np.concatenate(ys)

    # ---- training and evaluation -----------------------------------------------------------

    def fit(self, x=None, y=None, *, validation=None, scale=None, data=None, data_dir=None,
            epochs=None, progress=True, callback=None, on_step=None, out=None):
        """Train on arrays or tensors ``x``, ``y``; on an iterable of ``(x, y)`` batches
        (a torch ``DataLoader``, a list; its batches and their order are the loader's); or on
        the named data set ``data`` (``"digits"``, ``"mnist"``, ...; files in ``data_dir``).
        ``validation=(x_val, y_val)`` (or an iterable of batches) is evaluated after every
        epoch. Continues from the current parameters with a fresh optimizer and learning-rate
        schedule over ``epochs`` (default: the config's ``train.epochs``; 0 is refused, as by
        ``ttfs train``).

        ``callback(metrics)`` runs after every epoch and ``on_step(info)`` after every
        optimizer step (``info``: ``epoch``, ``step``, ``loss``, ``accuracy`` so far,
        ``seen`` and ``samples`` of the epoch); either stops training by returning False
        (``ttfs.EarlyStopping`` does). ``progress`` prints one line per epoch (and one every
        10 s within long epochs); ``out`` writes a run directory as ``ttfs train`` does.
        Returns each epoch's metrics (``eval`` is None without validation data).
        """
        core = self._c()
        if epochs is not None:
            if isinstance(epochs, (int, np.integer)) and epochs == 0 and epochs is not False:
                # As `ttfs train` refuses it.
                raise TtfsError("epochs is 0: there is nothing to train (an untrained model "
                                "can be evaluated as it is)")
            epochs = _count("epochs", epochs)
        kw = dict(data=data, data_dir=None if data_dir is None else str(data_dir),
                  epochs=epochs, out=None if out is None else str(out))
        batches = None
        learned = None
        if x is not None and y is None and not _is_array(x):
            batches = x
            it = iter(_pairs(batches))
            first = next(it, None)
            if first is None:
                raise TtfsError("the data loader gave no batches")
            try:
                steps = len(batches)
            except TypeError:
                steps = None
            if steps is None or hasattr(batches, "__next__"):
                # A one-pass iterator (a generator) or one of unknown length: its batches are
                # read once, for every epoch and for the learning-rate schedule's length.
                batches = [first] + list(it)
                steps = len(batches)
            bx, by = first
            u8, s, learned = _images(bx, scale, core.input_scale)
            kw.update(x=u8, scale=s, y=_labels(by, len(u8)), steps_per_epoch=steps)
        elif x is not None:
            if y is None:
                raise TtfsError("fit: labels y are needed with x (or give an iterable of "
                                "(x, y) batches, e.g. a DataLoader)")
            u8, s, learned = _images(x, scale, core.input_scale)
            kw.update(x=u8, scale=s, y=_labels(y, len(u8)))
            if len(u8) == 0:
                raise TtfsError("fit: no training samples (x is empty)")
        if validation is not None:
            if isinstance(validation, tuple) and len(validation) == 2 and _is_array(
                    validation[0]):
                vx, vy = validation
                kw["vx"], kw["vscale"] = self._x(vx, scale)
                kw["vy"] = _labels(vy, len(kw["vx"]))
            else:
                kw["vx"], kw["vscale"], kw["vy"] = self._data(validation, None)
        total = core.fit_begin(**kw)
        if learned:
            core.input_scale = kw["scale"]
        history = []
        try:
            for _ in range(total):
                if batches is not None:
                    rec = self._loader_epoch(core, batches, scale, progress, on_step)
                else:
                    rec = self._array_epoch(core, progress, on_step)
                if rec is None:
                    break  # on_step returned False
                text, line = rec
                if progress:
                    print(line)
                m = _metrics(json.loads(text))
                history.append(m)
                if callback is not None and callback(m) is False:
                    break
        finally:
            core.fit_finish()
        return history

    def _array_epoch(self, core, progress, on_step):
        epoch = core.epochs + 1
        hook = None
        if on_step is not None:
            def hook(step, seen, samples, loss, accuracy):
                info = dict(epoch=epoch, step=step, seen=seen, samples=samples, loss=loss,
                            accuracy=accuracy)
                return on_step(info) is not False
        self._busy = True
        try:
            return core.fit_epoch(progress, hook)
        finally:
            self._busy = False

    def _loader_epoch(self, core, batches, scale, progress, on_step):
        epoch = core.epochs + 1
        printed = time.monotonic()
        step = 0
        for bx, by in _pairs(batches):
            u8, s, _ = _images(bx, scale, core.input_scale)
            loss, seen, accuracy = core.fit_step(u8, s, _labels(by, len(u8)))
            step += 1
            if progress and time.monotonic() - printed >= _PROGRESS_EVERY:
                printed = time.monotonic()
                print(f"epoch {epoch}: step {step}, {seen} samples, loss {loss:.4f}, "
                      f"train {100 * accuracy:.2f}%")
            if on_step is not None:
                info = dict(epoch=epoch, step=step, seen=seen, samples=None, loss=loss,
                            accuracy=accuracy)
                if on_step(info) is False:
                    return None
        return core.fit_end_epoch()

    def evaluate(self, x=None, y=None, *, scale=None, data=None, data_dir=None, split="test",
                 energy=True, flip=False):
        """Accuracy, loss, spikes per neuron by layer, accuracy against decision time and, with
        ``energy``, the synaptic operations, energy and early-exit report
        (``result["energy_summary"]``), on arrays or tensors, an iterable of ``(x, y)``
        batches, or a named data set's split. ``flip`` adds ``result["flip"]``: the accuracy
        (and by decision step) when each sample is decided by the mean logits of itself and
        its left-right mirror image, two passes per sample (twice the energy); everything else
        is of the single pass. Warns when the model was never trained."""
        core = self._c()
        kw = dict(data=data, data_dir=None if data_dir is None else str(data_dir), split=split,
                  energy=bool(energy), flip=bool(flip))
        if x is not None and y is None and not _is_array(x):
            kw["x"], kw["scale"], kw["y"] = self._data(x, scale)
        elif x is not None:
            kw["x"], kw["scale"] = self._x(x, scale)
            kw["y"] = _labels(y, len(kw["x"]))
            if len(kw["x"]) == 0:
                raise TtfsError("evaluate: no samples (x is empty)")
        ev = json.loads(core.evaluate(**kw))
        if core.epochs == 0:
            warnings.warn(TtfsWarning(
                "evaluating a model that was never trained (its initialization): fit it "
                "first, or load a trained one with ttfs.load"), stacklevel=2)
        if ev.get("energy"):
            ev["energy_summary"] = _energy_summary(ev["energy"], ev["accuracy_at"])
        return ev

    def encode(self, x, *, scale=None):
        """The network's input for images ``x``: ``[T, N, C, H, W]`` (latency code) or
        ``[1, N, C, H, W]`` (direct encoding: the same frame at every step)."""
        return _like(x)(self._c().encode(*self._x(x, scale)))

    def logits(self, x, *, scale=None):
        """``[N, classes]`` logits of the dense forward pass."""
        return _like(x)(self._c().forward(*self._x(x, scale))[0])

    def predict(self, x, *, scale=None):
        """Predicted classes (the largest logit; the first on ties)."""
        logits = self._c().forward(*self._x(x, scale))[0]
        return _like(x)(np.argmax(logits, axis=1))

    def first_spike_times(self, x, *, scale=None):
        """Per layer of ``spiking_layers`` (``if1``, ..., ``pool1``, ..., ``out``), the step of
        each unit's first spike, ``int32 [N, *frame]``; ``T`` (``model.time_steps``) marks a
        unit that never fired."""
        out = _like(x)
        return {k: out(v) for k, v in self._c().forward(*self._x(x, scale))[1]}

    def spike_trains(self, x, *, scale=None):
        """Per layer of ``spiking_layers``, its output at every step, ``float32 [T, N,
        *frame]``: 1 at a step with a spike, else 0 (the average of the window's spikes for
        average pooling)."""
        out = _like(x)
        return {k: out(v) for k, v in self._c().traces(*self._x(x, scale), False)}

    def membrane_traces(self, x, *, scale=None):
        """Per neuron layer (``if1``, ...) and the output (``out``, or ``readout`` for a
        membrane readout), the membrane potential at every step, ``float32 [T, N, *frame]``:
        ``v[t] = v[t-1] + I[t]`` before any reset, compared with the threshold 1; NaN after a
        fire-once neuron's spike."""
        out = _like(x)
        return {k: out(v) for k, v in self._c().traces(*self._x(x, scale), True)}

    def classify_events(self, x, *, scale=None, early_exit=False):
        """Event-driven inference, one sample at a time propagating only spikes. Returns a dict:
        ``predictions``, ``logits``, ``decision_step`` (the first output event's step with
        ``early_exit``, else ``T - 1``) and ``synops`` (accumulates executed) per sample."""
        logits, steps, ops = self._c().classify_events(*self._x(x, scale), bool(early_exit))
        out = _like(x)
        return {
            "predictions": out(np.argmax(logits, axis=1)),
            "logits": out(logits),
            "decision_step": out(np.asarray(steps)),
            "synops": out(np.asarray(ops)),
        }

    # ---- parameters, files ---------------------------------------------------------------------

    def parameters(self):
        """The parameters by their checkpoint names (``fc1.weight``, ``conv1.gamma``, ...), as
        numpy arrays (``torch.from_numpy`` takes them without a copy)."""
        return dict(self._c().parameters())

    def set_parameters(self, params):
        """Overwrite parameters by name (any of ``parameters()``), from arrays or tensors of
        the same shapes."""
        if not isinstance(params, dict):
            raise TtfsError(f"parameters must be a dict of name: array, got "
                            f"{type(params).__name__}")
        items = [(str(k), np.ascontiguousarray(_host(v), dtype=np.float32))
                 for k, v in params.items()]
        self._c().set_parameters(items)

    def plain_parameters(self):
        """Plain weights and biases with the weight normalization and affine folded in
        (``fc1.weight``, ``fc1.bias``, ...): what the NIR export writes."""
        return dict(self._c().plain_parameters())

    def save(self, path):
        """Write a checkpoint (``.safetensors``, with the input scale), readable by
        ``ttfs.load`` and ``ttfs eval``."""
        self._c().save(str(path))

    def export_nir(self, path):
        """Write the network as an NIR graph (HDF5; ``nir.read`` opens it). Returns the
        ``name:type`` of its nodes in order."""
        return self._c().export_nir(str(path))


class EarlyStopping:
    """An epoch callback that stops training when the validation result has not improved for
    ``patience`` epochs, and (``restore_best``) puts the best epoch's parameters back::

        model.fit(x, y, validation=(xv, yv), callback=ttfs.EarlyStopping(model, patience=3))

    ``monitor``: ``"accuracy"`` (higher is better) or ``"loss"`` (lower is better) of the
    validation data; ``min_delta``: the smallest change that counts as an improvement.
    """

    def __init__(self, model, *, patience=3, monitor="accuracy", min_delta=0.0,
                 restore_best=True):
        if monitor not in ("accuracy", "loss"):
            raise TtfsError(f"monitor must be \"accuracy\" or \"loss\", got {monitor!r}")
        self.model = model
        self.patience = _count("patience", patience, lo=0)
        self.monitor, self.min_delta, self.restore_best = monitor, float(min_delta), restore_best
        self.best, self.best_epoch, self._params, self._waited = None, None, None, 0

    def __call__(self, metrics):
        if metrics["eval"] is None:
            raise TtfsError("EarlyStopping needs validation data: fit(..., validation=(x, y))")
        value = metrics["eval"][self.monitor]
        sign = 1.0 if self.monitor == "accuracy" else -1.0
        if self.best is None or sign * (value - self.best) > self.min_delta:
            self.best, self.best_epoch, self._waited = value, metrics["epoch"], 0
            if self.restore_best:
                self._params = self.model.parameters()
            return True
        self._waited += 1
        if self._waited <= self.patience:
            return True
        if self.restore_best and self._params is not None:
            self.model.set_parameters(self._params)
        return False


def load(path, *, data_dir=None, device="cpu"):
    """A model from a checkpoint file or a run directory (its best, else last, checkpoint),
    with the input scale it was trained with."""
    return Model(_core=_ttfs.Core.load(str(path), None if data_dir is None else str(data_dir),
                                       str(device)))


def load_data(name, data_dir=None):
    """A data set's splits as arrays: ``(x_train, y_train, x_test, y_test, scale)``, images
    ``uint8 [N, C, H, W]`` whose values times ``scale`` are intensities. ``"digits"`` is
    embedded; the others are read from ``data_dir``."""
    return _ttfs.load_data(str(name), None if data_dir is None else str(data_dir))


def set_threads(n):
    """Use ``n`` worker threads (once, before the first computation; default: one per
    core). Returns the number in use."""
    return _ttfs.set_threads(_count("threads", n))


def _energy_summary(e, accuracy_at):
    """Per-sample figures of the energy report (``evaluate(...)["energy"]``)."""
    n = max(e["samples"], 1)
    layers = []
    for layer in e["layers"]:
        layers.append({
            "layer": layer["layer"],
            "name": layer["name"],
            "describe": layer.get("describe", ""),
            "analog": layer["analog"],
            "synops": layer["ops"] / n,
            "dense_macs": layer["dense_macs"],
            "events_per_input": layer["input_events"] / n / max(layer["input_units"], 1),
        })
    synops = sum(l["synops"] for l in layers if not l["analog"])
    analog = sum(l["synops"] for l in layers if l["analog"])
    dense = sum(l["dense_macs"] for l in layers)
    t = e["time_steps"]
    until = [sum(sum(l["ops_by_step"][: k + 1]) for l in e["layers"] if not l["analog"]) / n
             for k in range(t)]
    return {
        "layers": layers,
        "synops": synops,
        "analog_macs": analog,
        "dense_macs": dense,
        "energy_pj": synops * PJ_PER_AC + analog * PJ_PER_MAC,
        "dense_energy_pj": dense * PJ_PER_MAC,
        "early_exit": {
            "accuracy": e["exit_correct"] / n,
            "mean_step": e["exit_step_sum"] / n,
            "synops": e["exit_ops"] / n,
            "energy_pj": e["exit_ops"] / n * PJ_PER_AC + analog * PJ_PER_MAC,
            "exited_fraction": e["exited"] / n,
        },
        "by_step": [{"t": k, "accuracy": accuracy_at[k], "synops": until[k]} for k in range(t)],
    }
