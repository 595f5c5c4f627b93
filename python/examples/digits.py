# %% [markdown]
# # ttfs from Python: the embedded 8x8 digits
#
# A notebook in script form (each `# %%` is a cell: VS Code, Jupytext and Spyder run them one
# by one; `python python/examples/digits.py` runs them all). It trains a fire-once spiking
# network on the UCI digits compiled into ttfs (no download), then looks at its spikes, its
# synaptic operations and energy, runs it event by event, and exports it to NIR.
#
# Install first: `pip install ./python` (from the repository root; add `nir` for the last
# cell).

# %%
import sys
import tempfile
import time

import numpy as np

import ttfs

x_train, y_train, x_test, y_test, scale = ttfs.load_data("digits")
print(f"train {x_train.shape}, test {x_test.shape}, pixel values 0..{x_train.max()} (x {scale})")

# %% [markdown]
# ## A model: the default of `ttfs train`
# An MLP 64-256-10 of fire-once integrate-and-fire neurons, T = 8 steps, the image as a
# constant input current (direct encoding), weight normalization with affine, a temporal
# decoder. Any key of the config can be set: `ttfs.Model(spec=..., settings={...})`.

# %%
model = ttfs.Model(spec="fc256 if fc10", settings={"train.epochs": 30, "train.seed": 0})
print(model.summary())

# %%
start = time.time()
# 200 training images held out for validation: the test split stays unseen until the end.
history = model.fit(x_train[:-200], y_train[:-200],
                    validation=(x_train[-200:], y_train[-200:]), scale=scale)
print(f"{len(history)} epochs in {time.time() - start:.1f} s")

# %% [markdown]
# ## Accuracy, spikes, synaptic operations and energy

# %%
ev = model.evaluate(x_test, y_test, scale=scale)
print(f"test accuracy {100 * ev['accuracy']:.2f}% on {ev['samples']} samples")
for layer in ev["monitor"]["layers"]:
    units, n = layer["units"], layer["samples"]
    print(f"  {layer['name']:<34} {layer['events'] / (units * n):.3f} spikes/neuron, "
          f"{100 * layer['silent'] / (units * n):.1f}% silent")
e = ev["energy_summary"]
print(f"per sample: {e['synops']:.0f} accumulates (spikes) + {e['analog_macs']:.0f} MACs on the "
      f"analog input = {e['energy_pj'] / 1e3:.1f} nJ; the same network as an ANN: "
      f"{e['dense_macs']:.0f} MACs = {e['dense_energy_pj'] / 1e3:.1f} nJ")
x = e["early_exit"]
print(f"early exit at the first output spike: accuracy {100 * x['accuracy']:.2f}% at mean step "
      f"{x['mean_step']:.2f}, {x['synops']:.0f} accumulates")
for row in e["by_step"]:
    print(f"  decide at t = {row['t']}: {100 * row['accuracy']:6.2f}%  "
          f"{row['synops']:7.0f} accumulates")

# %% [markdown]
# ## First-spike times
# Each spiking layer's first-spike step per neuron; `T` marks a neuron that never fired.

# %%
times = model.first_spike_times(x_test[:1], scale=scale)
for name, t in times.items():
    fired = t[0][t[0] < model.time_steps]
    print(f"{name}: {fired.size} of {t[0].size} neurons fired, at steps "
          f"{np.bincount(fired, minlength=model.time_steps)}")
print("output:", times["out"][0], "label", y_test[0])

# %% [markdown]
# ## Event-driven inference
# One sample at a time, propagating only spikes: the same predictions as the dense forward
# pass, and the accumulates it executes are the synaptic operations counted above.

# %%
start = time.time()
events = model.classify_events(x_test, scale=scale)
dt = time.time() - start
same = np.array_equal(events["predictions"], model.predict(x_test, scale=scale))
print(f"event-driven: {len(x_test) / dt:.0f} samples/s, predictions equal to the dense pass: "
      f"{same}, {events['synops'].mean():.0f} accumulates per sample")

# %% [markdown]
# ## Parameters, checkpoint, NIR

# %%
params = model.parameters()
print({k: v.shape for k, v in params.items()})
out = tempfile.mkdtemp()
model.save(f"{out}/digits.safetensors")
assert np.array_equal(ttfs.load(f"{out}/digits.safetensors").logits(x_test, scale=scale),
                      model.logits(x_test, scale=scale))
print(model.export_nir(f"{out}/digits.nir"))
try:
    import nir

    graph = nir.read(f"{out}/digits.nir")
    print("nir read back:", list(graph.nodes), "T =", graph.metadata["time_steps"])
except ImportError:
    print("(pip install nir to read the graph back)")

# %%
print(f"test accuracy {100 * ev['accuracy']:.2f}%")
if ev["accuracy"] < 0.95:
    sys.exit("test accuracy below 95%")
