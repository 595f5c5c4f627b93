"""What a consumer of an exported NIR graph computes if it ignores the fire-once rule.

    python python/examples/nir_fire_once.py RUN_DIR [SAMPLES] [DATA_DIR]

Exports the run's network to NIR, reads it back with the `nir` package, and simulates the
graph on the first SAMPLES test images twice with the numpy simulator of the tests
(python/tests/nirsim.py): as stated (IF nodes marked fire_once = 1 fire at most once) and as
an ordinary IF with reset to v_reset = 0 after every spike. Prints, for each, the accuracy,
the spikes per neuron of every IF node, the agreement with ttfs's predictions and the samples
whose every first-spike time equals ttfs's. It also checks that every weight and bias read
back equals the model's folded parameters.
"""

import os
import sys
import tempfile

import numpy as np

import nir
import ttfs

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import nirsim  # noqa: E402

run = sys.argv[1]
samples = int(sys.argv[2]) if len(sys.argv) > 2 else 200
data_dir = sys.argv[3] if len(sys.argv) > 3 else None
model = ttfs.load(run, data_dir=data_dir)
name = model.config.split('name = "')[1].split('"')[0]
_, _, x, y, scale = ttfs.load_data(name, data_dir)
x, y = x[:samples], y[:samples]
path = os.path.join(tempfile.mkdtemp(), "model.nir")
model.export_nir(path)
graph = nir.read(path)
plain = model.plain_parameters()
same = all(np.array_equal(getattr(graph.nodes[k.split(".")[0]], k.split(".")[1]), v)
           for k, v in plain.items())
print(f"{path}: {len(graph.nodes)} nodes "
      f"({' -> '.join(type(graph.nodes[n]).__name__ for n in nirsim.chain(graph))}), "
      f"T = {graph.metadata['time_steps']}; {len(plain)} weight and bias arrays read back "
      f"{'equal' if same else 'DIFFERENT'} to the model's")
enc = model.encode(x, scale=scale)
want = model.first_spike_times(x, scale=scale)
ttfs_pred = model.predict(x, scale=scale)
sizes = {k: int(np.prod(n.v_threshold.shape)) for k, n in graph.nodes.items()
         if type(n).__name__ == "IF"}
print(f"{run}: {samples} test samples, ttfs accuracy {100 * np.mean(ttfs_pred == y):.2f}%")
for fire_once in (True, False):
    counts, pred, exact = {}, [], 0
    for b in range(samples):
        first, _, logits = nirsim.simulate(graph, enc[:, b], fire_once=fire_once, counts=counts)
        pred.append(int(np.argmax(logits)))
        # Every IF node (spikes averaged by a pooling are no IF node).
        exact += all(np.array_equal(first[k], want[k][b]) for k in model.spiking_layers
                     if k in first)
    pred = np.array(pred)
    per = ", ".join(f"{k} {counts.get(k, 0) / (sizes[k] * samples):.3f}" for k in sizes)
    what = "fire-once (as exported)" if fire_once else "IF with reset, fire-once ignored"
    print(f"  {what:<34} accuracy {100 * np.mean(pred == y):6.2f}%, same prediction as ttfs "
          f"{100 * np.mean(pred == ttfs_pred):6.2f}%, first-spike times equal on {exact} "
          f"samples, spikes/neuron: {per}")
