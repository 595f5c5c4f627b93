"""ttfs: train time-to-first-spike spiking neural networks from Python.

A thin layer over the ttfs Rust crate (``ttfs._ttfs``): every computation -- training,
evaluation, the energy report, event-driven inference, the NIR export -- is the crate's, the
same code the ``ttfs`` command line runs. This module only turns numpy arrays and dicts into
what the crate takes, and its JSON records into dicts.

    import ttfs
    x_train, y_train, x_test, y_test, scale = ttfs.load_data("digits")
    model = ttfs.Model(spec="fc256 if fc10")
    model.fit(x_train, y_train, validation=(x_test, y_test), scale=scale, epochs=30)
    model.evaluate(x_test, y_test, scale=scale)["accuracy"]

Images are ``[N, C, H, W]`` (or ``[N, H, W]``, one channel, or ``[N, F]``): ``uint8`` values
times ``scale`` (default 1/255), or floats in [0, 1], which are stored as ``uint8`` steps of
1/255 like every ttfs data set. Errors raise :class:`TtfsError` with the command line's
message.
"""

import json

import numpy as np

from . import _ttfs
from ._ttfs import PJ_PER_AC, PJ_PER_MAC, TtfsError, __version__, set_threads

__all__ = [
    "Model",
    "TtfsError",
    "load",
    "load_data",
    "set_threads",
    "PJ_PER_AC",
    "PJ_PER_MAC",
    "__version__",
]


def _images(x, scale):
    """``x`` as contiguous uint8 ``[N, C, H, W]`` and its value scale."""
    x = np.asarray(x)
    if x.ndim == 2:
        x = x[:, None, None, :]
    elif x.ndim == 3:
        x = x[:, None, :, :]
    elif x.ndim != 4:
        raise TtfsError(f"images must be [N, C, H, W], [N, H, W] or [N, F], got shape {x.shape}")
    if np.issubdtype(x.dtype, np.floating):
        if x.size and (np.nanmin(x) < 0.0 or np.nanmax(x) > 1.0 or np.isnan(x).any()):
            raise TtfsError("float images must hold intensities in [0, 1]")
        return np.ascontiguousarray(np.rint(x * 255.0).astype(np.uint8)), 1.0 / 255.0
    if x.dtype == np.bool_:
        return np.ascontiguousarray(x.astype(np.uint8)), (1.0 if scale is None else scale)
    if np.issubdtype(x.dtype, np.integer):
        if x.size and (x.min() < 0 or x.max() > 255):
            raise TtfsError("integer images must hold values 0..255 (times scale: intensities)")
        return np.ascontiguousarray(x.astype(np.uint8)), (1.0 / 255.0 if scale is None else scale)
    raise TtfsError(f"images of dtype {x.dtype} are not supported (uint8 or float)")


def _labels(y):
    if y is None:
        return None
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer):
        raise TtfsError(f"labels must be integers, got dtype {y.dtype}")
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
    out = []
    for k, v in (settings or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out += _overrides(v, key + ".")
        else:
            out.append(f"{key}={_toml_literal(v)}")
    return out


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
      images (default: the data set's).

    The initialization is the one ``ttfs train`` starts from with the same config and seed.
    """

    def __init__(self, config=None, *, spec=None, settings=None, input_shape=None, data=None,
                 data_dir=None, device="cpu", _core=None):
        if _core is not None:
            self._core = _core
            return
        sets = _overrides(settings)
        if spec is not None:
            sets.append(f"model.spec={_toml_literal(spec)}")
        if data is not None:
            sets.append(f"data.name={_toml_literal(data)}")
        if input_shape is not None:
            input_shape = list(input_shape)
            if len(input_shape) == 1:
                input_shape = [1, 1] + input_shape
            elif len(input_shape) == 2:
                input_shape = [1] + input_shape
        cfg = str(config) if config is not None and not isinstance(config, dict) else config
        self._core = _ttfs.Core(cfg, sets, input_shape, data_dir, device)

    # ---- properties ----------------------------------------------------------------------

    @property
    def config(self):
        """The resolved config as TOML text (every key)."""
        return self._core.config_toml

    @property
    def time_steps(self):
        return self._core.time_steps

    @property
    def classes(self):
        return self._core.classes

    @property
    def input_shape(self):
        return tuple(self._core.input_shape)

    @property
    def epochs(self):
        """Epochs trained so far."""
        return self._core.epochs

    @property
    def spiking_layers(self):
        """Names of the spiking layers (``if1``, ``if2``, ..., ``out``), as in the NIR graph."""
        return list(self._core.spiking_layers)

    def summary(self):
        """Layers, shapes, parameters and operations, as ``ttfs info`` prints them."""
        return self._core.summary()

    def __repr__(self):
        return f"ttfs.Model(input {self.input_shape}, T = {self.time_steps}, {self.classes} classes)"

    # ---- training and evaluation -----------------------------------------------------------

    def fit(self, x=None, y=None, *, validation=None, scale=None, data=None, data_dir=None,
            epochs=None, progress=True, callback=None, out=None):
        """Train on arrays ``x``, ``y`` (``validation=(x_val, y_val)`` is evaluated after every
        epoch) or on the named data set ``data`` (``"digits"``, ``"mnist"``, ...; its files in
        ``data_dir``). Continues from the current parameters with a fresh optimizer and
        learning-rate schedule over ``epochs`` (default: the config's ``train.epochs``).

        ``progress`` prints one line per epoch (and one every 10 s within long epochs);
        ``callback(metrics)`` is called after every epoch; ``out`` writes a run directory as
        ``ttfs train`` does (config, metrics, checkpoints). Returns each epoch's metrics.
        """
        kw = dict(data=data, data_dir=data_dir, epochs=epochs, progress=progress, out=out)
        if callback is not None:
            kw["callback"] = lambda text: callback(json.loads(text))
        if x is not None:
            if y is None:
                raise TtfsError("fit: labels y are needed with x")
            kw["x"], kw["scale"] = _images(x, scale)
            kw["y"] = _labels(y)
            if validation is not None:
                vx, vy = validation
                kw["vx"], kw["vscale"] = _images(vx, scale)
                kw["vy"] = _labels(vy)
        return [json.loads(m) for m in self._core.fit(**kw)]

    def evaluate(self, x=None, y=None, *, scale=None, data=None, data_dir=None, split="test",
                 energy=True):
        """Accuracy, loss, spikes per neuron by layer, accuracy against decision time and, with
        ``energy``, the synaptic operations, energy and early-exit report
        (``result["energy_summary"]``), on arrays or a named data set's split."""
        kw = dict(data=data, data_dir=data_dir, split=split, energy=energy)
        if x is not None:
            kw["x"], kw["scale"] = _images(x, scale)
            kw["y"] = _labels(y)
        ev = json.loads(self._core.evaluate(**kw))
        if ev.get("energy"):
            ev["energy_summary"] = _energy_summary(ev["energy"], ev["accuracy_at"])
        return ev

    def encode(self, x, *, scale=None):
        """The network's input for images ``x``: ``[T, N, C, H, W]`` (latency code) or
        ``[1, N, C, H, W]`` (direct encoding: the same frame at every step)."""
        return self._core.encode(*_images(x, scale))

    def logits(self, x, *, scale=None):
        """``[N, classes]`` logits of the dense forward pass."""
        return self._core.forward(*_images(x, scale))[0]

    def predict(self, x, *, scale=None):
        """Predicted classes (the largest logit; the first on ties)."""
        return np.argmax(self.logits(x, scale=scale), axis=1)

    def first_spike_times(self, x, *, scale=None):
        """Per spiking layer (``if1``, ..., and ``out`` for a spiking output), the step of each
        unit's first spike, ``int32 [N, *frame]``; ``T`` (``model.time_steps``) marks a unit
        that never fired."""
        return dict(self._core.forward(*_images(x, scale))[1])

    def classify_events(self, x, *, scale=None, early_exit=False):
        """Event-driven inference, one sample at a time propagating only spikes. Returns a dict:
        ``predictions``, ``logits``, ``decision_step`` (the first output event's step with
        ``early_exit``, else ``T - 1``) and ``synops`` (accumulates executed) per sample."""
        logits, steps, ops = self._core.classify_events(*_images(x, scale), early_exit)
        return {
            "predictions": np.argmax(logits, axis=1),
            "logits": logits,
            "decision_step": np.asarray(steps),
            "synops": np.asarray(ops),
        }

    # ---- parameters, files ---------------------------------------------------------------------

    def parameters(self):
        """The parameters by their checkpoint names (``fc1.weight``, ``conv1.gamma``, ...)."""
        return dict(self._core.parameters())

    def plain_parameters(self):
        """Plain weights and biases with the weight normalization and affine folded in
        (``fc1.weight``, ``fc1.bias``, ...): what the NIR export writes."""
        return dict(self._core.plain_parameters())

    def save(self, path):
        """Write a checkpoint (``.safetensors``), readable by ``ttfs.load`` and ``ttfs eval``."""
        self._core.save(str(path))

    def export_nir(self, path):
        """Write the network as an NIR graph (HDF5; ``nir.read`` opens it). Returns the
        ``name:type`` of its nodes in order."""
        return self._core.export_nir(str(path))


def load(path, *, data_dir=None, device="cpu"):
    """A model from a checkpoint file or a run directory (its best, else last, checkpoint)."""
    return Model(_core=_ttfs.Core.load(str(path), None if data_dir is None else str(data_dir),
                                       device))


def load_data(name, data_dir=None):
    """A data set's splits as arrays: ``(x_train, y_train, x_test, y_test, scale)``, images
    ``uint8 [N, C, H, W]`` whose values times ``scale`` are intensities. ``"digits"`` is
    embedded; the others are read from ``data_dir``."""
    return _ttfs.load_data(name, None if data_dir is None else str(data_dir))


def _energy_summary(e, accuracy_at):
    """Per-sample figures of the energy report (``evaluate(...)["energy"]``)."""
    n = max(e["samples"], 1)
    layers = []
    for layer in e["layers"]:
        layers.append({
            "layer": layer["layer"],
            "name": layer["name"],
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
