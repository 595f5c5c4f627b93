# %% [markdown]
# # ttfs with torch: a DataLoader, spike trains, NIR, Norse
#
# A notebook in script form (each `# %%` is a cell: VS Code, Jupytext and Spyder run them one
# by one; `python python/examples/torch_digits.py` runs them all). It trains a fire-once
# spiking network from a torch `DataLoader` over the 8x8 digits compiled into ttfs (no
# download), stops early on the validation accuracy, plots the spike trains of one digit,
# exports the network to NIR and hands the graph to Norse.
#
# Install first: `pip install ./python torch` (from the repository root; `matplotlib` for the
# plot, else Pillow, else no plot; `nir norse` for the last cells).

# %%
import sys
import tempfile

import numpy as np

import ttfs

try:
    import torch
    from torch.utils.data import DataLoader, TensorDataset
except ImportError:
    sys.exit("this example needs torch: pip install torch")

# The digits as float intensities in [0, 1], as torchvision's ToTensor gives images.
x_train, y_train, x_test, y_test, scale = ttfs.load_data("digits")
images = torch.from_numpy(x_train).float() * scale
labels = torch.from_numpy(y_train)
# The last 200 training digits are held out for validation: early stopping picks its epoch by
# them, so the test digits stay unseen until the end.
train = TensorDataset(images[:-200], labels[:-200])
val = TensorDataset(images[-200:], labels[-200:])
test = TensorDataset(torch.from_numpy(x_test).float() * scale, torch.from_numpy(y_test))
loader = DataLoader(train, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
print(f"{len(train)} training, {len(val)} validation and {len(test)} test digits, "
      f"{len(loader)} batches an epoch")

# %% [markdown]
# ## Training from the DataLoader
# `fit` takes any iterable of `(x, y)` batches; the batches and their order are the loader's.
# `on_step` sees every optimizer step, `callback` every epoch; `EarlyStopping` stops when the
# validation accuracy has not improved for `patience` epochs and puts the best parameters
# back.

# %%
model = ttfs.Model(spec="fc256 if fc10", settings={"train.seed": 0})
losses = []
stop = ttfs.EarlyStopping(model, patience=8)
history = model.fit(
    loader,
    validation=(val.tensors[0], val.tensors[1]),
    epochs=30,
    on_step=lambda step: losses.append(step["loss"]),
    callback=stop,
)
print(f"{len(history)} epochs, {len(losses)} steps; best validation accuracy "
      f"{100 * stop.best:.2f}% after epoch {stop.best_epoch}")

# %% [markdown]
# ## Tensors in, tensors out
# Torch tensors go in without a copy (on the CPU) and come back as tensors.

# %%
x, y = test.tensors
predictions = model.predict(x)
accuracy = (predictions == y).float().mean().item()
ev = model.evaluate(x, y)
# `evaluate` shares the credit of a tie between classes; `predict` takes the first of them.
print(f"test accuracy {100 * accuracy:.2f}% ({type(predictions).__name__}); evaluate: "
      f"{100 * ev['accuracy']:.2f}%")
for layer in ev["monitor"]["layers"]:
    print(f"  {layer['name']}: {layer['events'] / (layer['units'] * layer['samples']):.3f} "
          f"spikes per neuron")

# %% [markdown]
# ## Spike trains and membrane potentials
# Per layer and step, `[T, N, units]`, under the names the evaluation above and the NIR graph
# use.

# %%
sample = x[:1]
trains = model.spike_trains(sample)
potentials = model.membrane_traces(sample)
for name, s in trains.items():
    print(f"{name}: {int(s.sum())} spikes over {s.shape[0]} steps, {s.shape[-1]} units")
# After its spike a fire-once neuron is spent and its potential reads NaN: print "fired" instead.
last = potentials["out"][-1, 0].numpy()
print("output potentials at the last step:",
      " ".join("fired" if np.isnan(v) else f"{v:.2f}" for v in last))
print("label", int(y[0]), "predicted", int(predictions[0]))


def raster(trains, path):
    """Each layer's spikes of one sample: a row per neuron, a column per step. matplotlib
    if it is installed, else a plain PNG through Pillow; neither: no plot."""
    layers = [(name, s[:, 0].reshape(s.shape[0], -1).numpy().T) for name, s in trains.items()]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(len(layers), 1, figsize=(6, 2.2 * len(layers)),
                                 squeeze=False)
        for ax, (name, spikes) in zip(axes[:, 0], layers):
            units, steps = np.nonzero(spikes)
            ax.scatter(steps, units, marker="|", s=40)
            ax.set(title=name, xlabel="step", ylabel="neuron", xlim=(-0.5, spikes.shape[1]),
                   ylim=(-1, spikes.shape[0]))
        fig.tight_layout()
        fig.savefig(path)
        return path
    except ImportError:
        pass
    try:
        from PIL import Image
    except ImportError:
        return None
    # 24 pixels a step, 2 a neuron, a gray band between layers; a spike is black.
    bands = []
    for _, spikes in layers:
        img = np.where(np.repeat(np.repeat(spikes, 2, axis=0), 24, axis=1) > 0, 0, 255)
        bands += [img.astype(np.uint8), np.full((6, img.shape[1]), 160, np.uint8)]
    Image.fromarray(np.vstack(bands[:-1])).save(path)
    return path


out = tempfile.mkdtemp()
png = raster(trains, f"{out}/spikes.png")
print(f"spike raster: {png}" if png else "(no plot: install matplotlib or Pillow)")

# %% [markdown]
# ## NIR, and the graph in Norse
# The export names its nodes like the layers above. `ttfs.nir.to_norse` builds a Norse module
# that keeps the fire-once neurons (docs/nir.md).

# %%
print(model.export_nir(f"{out}/digits.nir"))
try:
    import ttfs.nir

    norse_net = ttfs.nir.to_norse(f"{out}/digits.nir")
except (ImportError, AttributeError) as e:
    print(f"(running the graph in Norse needs ttfs.nir.to_norse and norse: {e})")
else:
    print(norse_net)

# %%
print(f"test accuracy {100 * ev['accuracy']:.2f}%")
if ev["accuracy"] < 0.95:
    sys.exit("test accuracy below 95%")
