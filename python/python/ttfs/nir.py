"""Run an NIR graph that ttfs exported in snnTorch or Norse, as it was trained.

    import ttfs.nir
    net = ttfs.nir.to_norse("mnist.nir")          # or ttfs.nir.to_snntorch("mnist.nir")
    logits = net(images)                          # images [B, C, H, W] in [0, 1]: torch.Tensor
    result = net.run(images)                      # logits, outputs per step, first-spike times

Each client's own NIR importer builds the network (``nirtorch.nir_to_torch`` with the
client's node conversions: snnTorch's ``import_nir``, Norse's ``import_nir``), with node maps
for what neither runs as ttfs exported it:

- ``IF``: the client's integrate-and-fire neuron (``snntorch.Leaky`` with ``beta = 1``, Norse's
  ``IAFCell``) inside :class:`FireOnce`, which keeps ttfs's rule: a neuron whose node states
  ``fire_once = 1`` spikes at most once per sample (spikes after the first are masked), and it
  fires at ``v >= v_threshold`` as the graph's ``neuron_rule`` says (both clients compare
  ``v > threshold``: the threshold they get is the next float32 below, the same test for every
  float32 potential). snnTorch's own import maps ``IF`` to a leaky neuron (``beta = 0.9``) and
  returns its ``(spk, mem)`` tuple to the next layer; here the next layer gets the spikes.
- ``I`` (the membrane readout): the same neuron with an infinite threshold, its potential
  passed on (neither client maps ``I``).
- ``Flatten``: NIR shapes are one sample's, without a batch dimension, so ``start_dim = 0``
  flattens a sample; both clients hand it to ``torch.nn.Flatten(0)``, which flattens the batch
  too. Here it is ``torch.nn.Flatten(start_dim + 1, ...)``.
- ``AvgPool2d`` (Norse has no mapping) and ``SumPool2d`` (snnTorch has none): nirtorch's.

The readout follows the graph's metadata: ``class = argmax_c sum_t w[t] out[t, c]`` with
``w = decoder_weights`` (read at the exact crossing time when ``decoder_exact_time`` is
stated), computed in float32 in ttfs's order. ``python/tests/test_nir_clients.py`` checks that
both clients give ttfs's classes and every first-spike time (docs/nir.md has the table).
"""

import keyword

import numpy as np

try:
    import nir
    import nirtorch
    import torch
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"ttfs.nir runs NIR graphs in torch-based simulators and needs torch, nir and nirtorch "
        f"(pip install torch nir nirtorch, and snntorch or norse): {e}"
    ) from e

__all__ = ["FireOnce", "TtfsNet", "read", "to_norse", "to_snntorch"]


def read(graph):
    """An ``nir.NIRGraph`` from a path (``nir.read``) or the graph itself."""
    return graph if isinstance(graph, nir.NIRGraph) else nir.read(str(graph))


def _ge(threshold):
    """The float32 threshold ``t'`` for which ``v > t'`` is ``v >= threshold`` for every float32
    ``v``: the next float32 below."""
    t = np.asarray(threshold, dtype=np.float32)
    return torch.from_numpy(np.nextafter(t, np.float32(-np.inf)).astype(np.float32))


def _uniform(a):
    """A constant array as a float, else a tensor (per-unit values broadcast over the batch)."""
    a = np.asarray(a, dtype=np.float32)
    return float(a.flat[0]) if a.size and np.all(a == a.flat[0]) else torch.from_numpy(a)


class _SnnTorchCell(torch.nn.Module):
    """snnTorch's ``Leaky`` with ``beta = 1`` (no leak: integrate-and-fire): one step,
    ``(spikes, potential)``; its ``(spk, mem)`` tuple is unpacked here."""

    def __init__(self, threshold, reset):
        super().__init__()
        import snntorch

        self.neuron = snntorch.Leaky(
            beta=1.0,
            threshold=threshold,
            reset_mechanism="zero" if reset else "none",
            init_hidden=False,
            reset_delay=False,
        )

    def forward(self, x, state):
        mem = torch.zeros_like(x) if state is None else state
        spk, mem = self.neuron(x, mem)
        return spk, mem, mem


class _NorseCell(torch.nn.Module):
    """Norse's ``IAFCell`` (from Norse's own NIR import where given) with the threshold set:
    one step, ``(spikes, potential before the reset, state)``."""

    def __init__(self, threshold, reset, cell=None):
        super().__init__()
        from norse.torch.functional.iaf import IAFFeedForwardState, IAFParameters
        from norse.torch.module.iaf import IAFCell

        self._state = IAFFeedForwardState
        if cell is None:
            cell = IAFCell(IAFParameters())
        v_reset = cell.p.v_reset if reset else torch.as_tensor(0.0)
        cell.p = cell.p._replace(v_th=torch.as_tensor(threshold), v_reset=v_reset)
        self.cell = cell

    def forward(self, x, state):
        if state is None:
            state = self._state(v=torch.zeros_like(x))
        before = state.v
        z, state = self.cell(x, state)
        # Norse's step is `v = v + x`, then the reset: the potential it compared.
        return z, before + x, state


class FireOnce(torch.nn.Module):
    """An IF node run by a client's neuron (``cell``), with ttfs's fire-once rule when the node
    states it. A stateful module for nirtorch: ``forward(x, state) -> (spikes, state)``; the
    state holds the client's own, the step, which units fired and when (``first``: the step
    of each unit's first spike, ``never`` (T) if none yet), and the potential before and after
    this step's input (``v_prev``, ``v``: the exact crossing time is read from them)."""

    def __init__(self, cell, fire_once, r, never):
        super().__init__()
        self.cell, self.fire_once, self.r, self.never = cell, fire_once, r, never

    def forward(self, x, state=None):
        if not (isinstance(self.r, float) and self.r == 1.0):
            x = self.r * x
        if state is None:
            state = {"cell": None, "t": 0, "fired": torch.zeros_like(x, dtype=torch.bool),
                     "first": torch.full(x.shape, self.never, dtype=torch.long),
                     "v": torch.zeros_like(x)}
        s, v, cell = self.cell(x, state["cell"])
        spikes = s != 0
        if self.fire_once:
            spikes = spikes & ~state["fired"]
        new = spikes & (state["first"] == self.never)
        first = torch.where(new, torch.full_like(state["first"], state["t"]), state["first"])
        state = {"cell": cell, "t": state["t"] + 1, "fired": state["fired"] | spikes,
                 "first": first, "v_prev": state["v"], "v": v}
        return spikes.to(x.dtype), state


class Integrator(torch.nn.Module):
    """An ``I`` node (``v[t] = v[t-1] + r x[t]``) run by a client's neuron with an infinite
    threshold: the potential is passed on."""

    def __init__(self, cell, r):
        super().__init__()
        self.cell, self.r = cell, r

    def forward(self, x, state=None):
        if not (isinstance(self.r, float) and self.r == 1.0):
            x = self.r * x
        _, v, state = self.cell(x, state)
        return v, state


class _Flatten(torch.nn.Module):
    """NIR's ``Flatten`` of one sample on a batch: dimensions shifted by one."""

    def __init__(self, node):
        super().__init__()
        start, end = int(node.start_dim), int(node.end_dim)
        self.flatten = torch.nn.Flatten(start + 1 if start >= 0 else start,
                                        end + 1 if end >= 0 else end)

    def forward(self, x):
        return self.flatten(x)


def _meta(node, key, default=None):
    return (node.metadata or {}).get(key, default)


def _int(v):
    return int(np.asarray(v).reshape(-1)[0])


def _sanitize(name):
    """nirtorch's names for modules and their state (``nir_interpreter._sanitize_name``)."""
    name = name.replace(".", "_")
    return "nir_node_" + name if keyword.iskeyword(name) else name


def _chain(graph):
    nxt = dict(graph.edges)
    name = next(k for k, n in graph.nodes.items() if isinstance(n, nir.Input))
    order = [name]
    while name in nxt:
        name = nxt[name]
        order.append(name)
    return order


class TtfsNet(torch.nn.Module):
    """An exported ttfs network in a client: ``step`` is the client's module for one time
    step (a ``torch.fx.GraphModule`` from ``nirtorch.nir_to_torch``); this runs it for the
    graph's ``T`` steps and reads the classes out as the graph's metadata says."""

    def __init__(self, graph, step, client):
        super().__init__()
        self.graph, self.step, self.client = graph, step, client
        md = graph.metadata
        self.time_steps = _int(md["time_steps"])
        self.encoding = str(md.get("input_encoding", "direct"))
        self.weights = torch.as_tensor(np.asarray(md["decoder_weights"], dtype=np.float32))
        drops = md.get("decoder_weight_drops")
        exact = "decoder_exact_time" in md
        self.drops = torch.as_tensor(np.asarray(drops, dtype=np.float32)) if exact else None
        order = _chain(graph)
        self.readout = order[-2]
        self.spiking = [n for n in order if isinstance(graph.nodes[n], nir.IF)]

    def encode(self, x):
        """Intensities ``[B, ...]`` in [0, 1] as the network's input over time ``[T, B, ...]``
        (``metadata.input_encoding``; as ttfs encodes, rounding included)."""
        x = torch.as_tensor(x, dtype=torch.float32)
        t = self.time_steps
        if self.encoding.startswith("direct"):
            return x.unsqueeze(0).expand(t, *x.shape)
        if not self.encoding.startswith("latency"):
            raise ValueError(f"unknown input encoding {self.encoding!r}")
        y = (1.0 - x.clamp(0.0, 1.0)) * float(t - 1)
        # f32::round: half away from zero (torch.round is half to even)
        step = torch.trunc(y) + ((y - torch.trunc(y)) >= 0.5).float()
        out = torch.nn.functional.one_hot(step.long(), t).movedim(-1, 0).float()
        if "never fires" in self.encoding:
            out = out * (x > 0.0).float()
        return out

    @torch.no_grad()
    def run(self, x, encoded=False, potentials=False):
        """Run a batch. ``x``: intensities ``[B, ...]``, or with ``encoded=True`` the input
        over time ``[T, B, ...]`` (``[1, B, ...]``: the same at every step). Returns a dict:
        ``logits`` ``[B, classes]``, ``outputs`` ``[T, B, classes]`` (output spikes, or the
        readout's potentials), ``first_spike`` (per IF node, the step of each unit's first
        spike ``[B, ...]``, ``T`` if it never fired) and, with ``potentials=True``,
        ``potentials`` (per IF node, the potential each step compared with the threshold,
        ``[T, B, ...]``)."""
        x = torch.as_tensor(x, dtype=torch.float32)
        if not encoded:
            x = self.encode(x)
        t = self.time_steps
        state, outs, logits, pots = None, [], None, {n: [] for n in self.spiking}
        for k in range(t):
            out, state = self.step(x[k if x.shape[0] > 1 else 0], state)
            outs.append(out)
            if potentials:
                for n in self.spiking:
                    pots[n].append(state[_sanitize(n)]["v"])
            if self.drops is not None:
                # ttfs's crossing_time::forward, in float32 and in its order
                st = state[_sanitize(self.readout)]
                prev, now = st["v_prev"], st["v"]
                rise = torch.clamp(now - prev, min=0.1)
                f = torch.clamp((1.0 - prev) / rise, 0.0, 1.0)
                w = self.weights[k] + (1.0 - f) * self.drops[k]
                term = out * w
            else:
                term = self.weights[k] * out
            logits = term if logits is None else logits + term
        first = {n: state[_sanitize(n)]["first"] for n in self.spiking}
        result = {"logits": logits, "outputs": torch.stack(outs), "first_spike": first}
        if potentials:
            result["potentials"] = {n: torch.stack(v) for n, v in pots.items()}
        return result

    def forward(self, x, encoded=False):
        return self.run(x, encoded)["logits"]


def _neuron_maps(graph, cell):
    """Node maps for ``IF`` and ``I`` with the client's neuron ``cell(threshold, reset, node)``."""
    t = _int(graph.metadata["time_steps"])
    ge_rule = ">= v_threshold" in str(graph.metadata.get("neuron_rule", ""))

    def if_node(node):
        th = np.asarray(node.v_threshold, dtype=np.float32)
        once = int(_meta(node, "fire_once", 0)) == 1
        if not once and np.any(np.asarray(node.v_reset) != 0):
            # both clients' neurons reset to 0 here (snnTorch's "zero"; Norse's default)
            raise ValueError("IF node with v_reset other than 0: not run by ttfs.nir")
        # ttfs's rule `v >= threshold` where the graph states it, else NIR's `v > threshold`
        threshold = _ge(th) if ge_rule else torch.from_numpy(th)
        return FireOnce(cell(threshold, not once, node), once, _uniform(node.r), t)

    def i_node(node):
        return Integrator(cell(torch.tensor(float("inf")), False, None), _uniform(node.r))

    return {nir.IF: if_node, nir.I: i_node, nir.Flatten: _Flatten}


def _uniform_threshold(th):
    return _uniform(th.numpy()) if isinstance(th, torch.Tensor) else th


def to_snntorch(graph):
    """The graph (a path or an ``nir.NIRGraph``) in snnTorch: a :class:`TtfsNet` whose step
    module snnTorch's NIR conversions and nirtorch built."""
    import snntorch.import_nir as sn

    graph = read(graph)

    def cell(threshold, reset, node):
        return _SnnTorchCell(_uniform_threshold(threshold), reset)

    own = {k: (lambda n: sn._nir_to_snntorch_module(n, init_hidden=False))
           for k in (nir.Affine, nir.Linear, nir.Conv2d, nir.AvgPool2d)}
    own.update(_neuron_maps(graph, cell))
    return TtfsNet(graph, nirtorch.nir_to_torch(graph, own), "snntorch")


def to_norse(graph):
    """The graph (a path or an ``nir.NIRGraph``) in Norse: a :class:`TtfsNet` whose step module
    Norse's NIR conversions and nirtorch built."""
    import norse.torch.utils.import_nir as nn_

    graph = read(graph)

    def cell(threshold, reset, node):
        base = nn_._import_norse_module(node, ignore_warnings=True) if node is not None else None
        return _NorseCell(threshold, reset, base)

    own = {k: (lambda n: nn_._import_norse_module(n, ignore_warnings=True))
           for k in (nir.Affine, nir.Conv2d, nir.SumPool2d)}
    own.update(_neuron_maps(graph, cell))
    return TtfsNet(graph, nirtorch.nir_to_torch(graph, own), "norse")
