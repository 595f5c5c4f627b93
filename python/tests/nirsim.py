"""A small numpy simulator of NIR graphs of fire-once integrate-and-fire networks, as ttfs
exports them (discrete time, dt = 1, every node runs at every step in edge order), written
from the graph's own description (node fields and metadata) to check an export end to end."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv2d(x, w, b, stride, pad):
    """x [C, H, W], w [O, C, K, K] -> [O, OH, OW]."""
    xp = np.pad(x, ((0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    k = w.shape[2]
    win = sliding_window_view(xp, (k, k), axis=(1, 2))[:, :: stride[0], :: stride[1]]
    return np.einsum("chwij,ocij->ohw", win, w) + b[:, None, None]


def pool2d(x, k, s, mean):
    win = sliding_window_view(x, (k[0], k[1]), axis=(1, 2))[:, :: s[0], :: s[1]]
    y = win.sum(axis=(3, 4))
    return y / (k[0] * k[1]) if mean else y


def chain(graph):
    """Node names from the input along the edges."""
    nxt = dict(graph.edges)
    name = next(k for k, n in graph.nodes.items() if type(n).__name__ == "Input")
    order = [name]
    while name in nxt:
        name = nxt[name]
        order.append(name)
    return order


def simulate(graph, x, fire_once=True, counts=None):
    """Run one sample. ``x`` is the network's input, ``[T, *shape]`` or ``[1, *shape]`` (the
    same at every step). Returns ``(first, potentials, logits)``: per IF node the first-spike
    step of each unit (T: never), its potential before each step's spike decision
    ``[T, *shape]``, and the readout's logits. ``fire_once=False`` ignores the fire-once
    metadata, as a consumer that knows only NIR's IF would (reset to v_reset after each
    spike); ``counts`` (a dict) then receives each IF node's number of spikes."""
    t_steps = int(graph.metadata["time_steps"])
    weights = np.asarray(graph.metadata["decoder_weights"], dtype=np.float64)
    order = chain(graph)
    state, first, pots = {}, {}, {}
    logits = None
    for t in range(t_steps):
        sig = np.asarray(x[t if x.shape[0] > 1 else 0], dtype=np.float64)
        for name in order[1:]:
            node = graph.nodes[name]
            kind = type(node).__name__
            if kind == "Affine":
                sig = node.weight.astype(np.float64) @ sig + node.bias
            elif kind == "Conv2d":
                sig = conv2d(sig, node.weight.astype(np.float64), node.bias.astype(np.float64),
                             node.stride, node.padding)
            elif kind in ("AvgPool2d", "SumPool2d"):
                assert not np.any(node.padding)
                sig = pool2d(sig, node.kernel_size, node.stride, kind == "AvgPool2d")
            elif kind == "Flatten":
                sig = sig.reshape(-1)
            elif kind == "IF":
                once = fire_once and int(node.metadata.get("fire_once", 0)) == 1
                v = state.get(name, np.zeros(sig.shape)) + node.r * sig
                pots.setdefault(name, []).append(v.copy())
                fired = first.setdefault(name, np.full(sig.shape, t_steps))
                spike = v >= node.v_threshold
                if once:
                    spike &= fired == t_steps
                else:
                    v = np.where(spike, node.v_reset, v)
                fired[spike & (fired == t_steps)] = t
                if counts is not None:
                    counts[name] = counts.get(name, 0) + int(spike.sum())
                state[name] = v
                sig = spike.astype(np.float64)
            elif kind == "I":
                v = state.get(name, np.zeros(sig.shape)) + node.r * sig
                state[name] = v
                sig = v
            elif kind == "Output":
                logits = (0 if logits is None else logits) + weights[t] * sig
            else:
                raise ValueError(f"node {name}: {kind} is not simulated")
    return first, {k: np.stack(v) for k, v in pots.items()}, logits
