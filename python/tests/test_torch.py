"""What a researcher used to snnTorch / Norse works with: torch tensors in and out, fit on a
torch DataLoader (or any iterable of (x, y) batches), callbacks per step and per epoch with
early stopping, spike trains and membrane traces per layer and step, and one set of layer
names across evaluations, spike times, traces and the NIR graph. Data: the embedded digits."""

import numpy as np
import pytest

import ttfs


@pytest.fixture
def torch():
    # Per test: without torch, the tests that need no torch still run.
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def digits():
    return ttfs.load_data("digits")


def loader(torch, x, y, batch_size=32, shuffle=True):
    """A DataLoader of float intensities in [0, 1], as torchvision's ToTensor gives them."""
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x).float() / 16.0, torch.from_numpy(y))
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle,
                                       generator=torch.Generator().manual_seed(0))


def trained(digits, spec="fc48 if fc10", epochs=3, **settings):
    xtr, ytr, _, _, scale = digits
    m = ttfs.Model(spec=spec, settings=settings)
    m.fit(xtr, ytr, scale=scale, epochs=epochs, progress=False)
    return m


def test_torch_tensors_in_and_out_without_copies_on_the_cpu(torch, digits):
    m = trained(digits)
    _, _, xte, yte, scale = digits
    t = torch.from_numpy(xte)
    # A CPU tensor is read where it lies (no copy).
    assert np.shares_memory(ttfs._host(t), xte)
    logits = m.logits(t)
    assert isinstance(logits, torch.Tensor) and logits.shape == (360, 10)
    np.testing.assert_array_equal(logits.numpy(), m.logits(xte, scale=scale))
    assert torch.equal(m.predict(t), torch.from_numpy(m.predict(xte)))
    fs = m.first_spike_times(t)
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.int32 for v in fs.values())
    # Float tensors (intensities, in steps of 1/255), tensors that require grad, labels as
    # tensors.
    f = (t.float() / 16.0).requires_grad_()
    np.testing.assert_array_equal(m.logits(f).numpy(), m.logits(xte / 16.0))
    assert m.evaluate(t, torch.from_numpy(yte))["accuracy"] == m.evaluate(xte, yte)["accuracy"]
    # numpy results go to torch without a copy, DLPack included.
    p = m.parameters()["fc1.weight"]
    assert np.shares_memory(torch.from_dlpack(p).numpy(), p)


def test_a_dlpack_producer_is_read_without_a_copy(digits):
    _, _, xte, _, _ = digits

    class Producer:  # what a DLPack-only array library hands over
        def __init__(self, a):
            self.a = a

        def __dlpack__(self, **kw):
            return self.a.__dlpack__(**kw)

        def __dlpack_device__(self):
            return self.a.__dlpack_device__()

    assert np.shares_memory(ttfs._host(Producer(xte)), xte)
    m = trained(digits, epochs=1)
    np.testing.assert_array_equal(m.logits(Producer(xte)), m.logits(xte))


def test_gpu_tensors_are_copied_to_the_host_and_results_return_to_the_gpu(torch, digits):
    if not torch.cuda.is_available():
        pytest.skip("no GPU for torch here")
    m = trained(digits, epochs=1)
    _, _, xte, _, _ = digits
    g = torch.from_numpy(xte).cuda()
    out = m.logits(g)
    assert out.device == g.device
    np.testing.assert_array_equal(out.cpu().numpy(), m.logits(xte))


def test_fit_on_a_dataloader_with_callbacks_per_step_and_epoch(torch, digits):
    xtr, ytr, xte, yte, _ = digits
    dl = loader(torch, xtr, ytr)
    m = ttfs.Model(spec="fc64 if fc10")
    steps, epochs = [], []

    def on_step(info):
        steps.append((info["epoch"], info["step"], info["loss"]))
        assert info["seen"] <= len(xtr)

    def callback(metrics):
        epochs.append(metrics["epoch"])
        # Between epochs the model is there to read.
        assert m.epochs == metrics["epoch"]
        m.predict(xte[:5] / 16.0)

    val = (torch.from_numpy(xte).float() / 16.0, torch.from_numpy(yte))
    hist = m.fit(dl, validation=val, epochs=8, progress=False, on_step=on_step,
                 callback=callback)
    assert epochs == list(range(1, 9)) and m.epochs == 8
    assert len(steps) == 8 * len(dl) and steps[-1][:2] == (8, len(dl))
    assert all(np.isfinite(s[2]) for s in steps)
    assert hist[-1]["eval"]["samples"] == 360
    acc = m.evaluate(xte / 16.0, yte)["accuracy"]
    assert acc == pytest.approx(hist[-1]["eval"]["accuracy"]) and acc > 0.85, acc
    # Float batches carry no scale of their own: the model has none to remember.
    assert m.input_scale is None
    # A validation loader works as arrays do.
    hist = m.fit(dl, validation=loader(torch, xte, yte, shuffle=False), epochs=1,
                 progress=False)
    assert hist[0]["eval"]["accuracy"] == pytest.approx(m.evaluate(xte / 16.0, yte)["accuracy"])


def test_fit_on_a_list_and_a_generator_of_batches(digits):
    xtr, ytr, _, _, scale = digits
    batches = [(xtr[i:i + 100], ytr[i:i + 100]) for i in range(0, len(xtr), 100)]
    m = ttfs.Model(spec="fc32 if fc10")
    assert len(m.fit(batches, scale=scale, epochs=2, progress=False)) == 2
    assert m.input_scale == pytest.approx(scale)
    # A generator is read once and its batches serve every epoch.
    m.fit(((x, y) for x, y in batches), epochs=2, progress=False)
    assert m.epochs == 4


def test_returning_false_stops_training(digits):
    xtr, ytr, _, _, scale = digits
    m = ttfs.Model(spec="fc32 if fc10")
    before = m.parameters()["fc1.weight"].copy()
    hist = m.fit(xtr, ytr, scale=scale, epochs=5, progress=False,
                 on_step=lambda info: info["step"] < 3)
    # Stopped within the first epoch, after 3 steps: no finished epoch, changed parameters.
    assert hist == [] and m.epochs == 0
    assert not np.array_equal(m.parameters()["fc1.weight"], before)
    hist = m.fit(xtr, ytr, scale=scale, epochs=5, progress=False, callback=lambda _: False)
    assert len(hist) == 1 and m.epochs == 1


def test_early_stopping_restores_the_best_parameters(digits):
    xtr, ytr, xte, yte, scale = digits
    m = ttfs.Model(spec="fc32 if fc10")
    stop = ttfs.EarlyStopping(m, patience=1, min_delta=1.0)  # nothing improves by 1.0
    snapshots = []

    def callback(metrics):
        snapshots.append(m.parameters())
        return stop(metrics)

    hist = m.fit(xtr, ytr, validation=(xte, yte), scale=scale, epochs=10, progress=False,
                 callback=callback)
    assert len(hist) == 3 and stop.best_epoch == 1
    for k, v in snapshots[0].items():
        np.testing.assert_array_equal(m.parameters()[k], v)


def test_spike_trains_and_membrane_traces_per_layer_and_step(digits):
    m = trained(digits, spec="conv6k3p1 if fp2 fc32 if fc10", epochs=2)
    _, _, xte, _, _ = digits
    x = xte[:20]
    t = m.time_steps
    trains = m.spike_trains(x)
    assert list(trains) == m.spiking_layers == ["if1", "pool1", "if2", "out"]
    first = m.first_spike_times(x)
    for name, s in trains.items():
        assert s.dtype == np.float32 and s.shape == (t, 20) + first[name].shape[1:]
        assert set(np.unique(s)) <= {0.0, 1.0}
        # Fire once, at the first-spike time.
        assert (s.sum(axis=0) <= 1).all()
        fired = s.any(axis=0)
        np.testing.assert_array_equal(np.where(fired, s.argmax(axis=0), t), first[name])
    pots = m.membrane_traces(x)
    assert list(pots) == ["if1", "if2", "out"]
    for name, v in pots.items():
        s = trains[name]
        assert v.shape == s.shape
        spent = np.cumsum(s, axis=0) - s > 0  # after the spike
        assert np.isnan(v[spent]).all() and not np.isnan(v[~spent]).any()
        # A spike where the potential reached the threshold, none below it (away from
        # float rounding at the threshold).
        live = ~spent & (np.abs(v - 1.0) > 1e-4)
        np.testing.assert_array_equal(s[live] == 1.0, v[live] >= 1.0)
    # A membrane readout's potentials are its output, named `readout`.
    mem = trained(digits, spec="fc16 if fc10", epochs=1, **{"model.decoder.kind": "membrane"})
    assert list(mem.membrane_traces(x)) == ["if1", "readout"]
    assert list(mem.spike_trains(x)) == ["if1"]


def test_one_set_of_layer_names(digits, tmp_path):
    m = trained(digits, spec="conv6k3p1 ap2 if conv8k3p1 if fp2 fc10", epochs=1)
    _, _, xte, yte, _ = digits
    assert m.layer_names == ["conv1", "if1", "conv2", "if2", "pool1", "flatten1", "fc3", "out"]
    ev = m.evaluate(xte, yte)
    assert [layer["name"] for layer in ev["monitor"]["layers"]] == m.spiking_layers
    assert {layer["name"] for layer in ev["energy_summary"]["layers"]} <= set(m.layer_names)
    assert list(m.first_spike_times(xte[:3])) == m.spiking_layers
    nodes = [n.split(":")[0] for n in m.export_nir(tmp_path / "m.nir")]
    assert set(m.layer_names) <= set(nodes)


def test_traces_on_the_gpu_code_path(digits, tmp_path):
    # device="emu" runs the GPU backend's kernels on the CPU: the traces are read from device
    # buffers as they would be from a GPU's.
    m = trained(digits, spec="conv4k3p1 if fp2 fc16 if fc10", epochs=1)
    m.save(tmp_path / "m.safetensors")
    g = ttfs.load(tmp_path / "m.safetensors", device="emu")
    assert g.device == "emu"
    _, _, xte, _, _ = digits
    x = xte[:16]
    a, b = m.spike_trains(x), g.spike_trains(x)
    assert list(a) == list(b)
    for k in a:
        # Spikes may differ only where a potential lies within float rounding of 1.
        assert (a[k] != b[k]).mean() < 0.01, k
    pa, pb = m.membrane_traces(x), g.membrane_traces(x)
    for k in pa:
        both = ~np.isnan(pa[k]) & ~np.isnan(pb[k])
        np.testing.assert_allclose(pa[k][both], pb[k][both], atol=1e-4)
