"""Tests of the Python package: models from specs, dicts and config files, training on arrays
and on a named data set, incremental time steps, evaluation with the energy report, first-spike times, event-driven
inference, parameters, checkpoints and run directories, the input scale, and the NIR export
read back with the `nir` package and simulated (nirsim.py). Bad inputs: test_errors.py; torch tensors, data loaders, callbacks and
traces: test_torch.py. Data: the embedded 8x8 digits only."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import ttfs

sys.path.insert(0, os.path.dirname(__file__))
import nirsim  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    return ttfs.load_data("digits")


def trained(spec, digits, epochs=3, **settings):
    xtr, ytr, xte, yte, scale = digits
    m = ttfs.Model(spec=spec, settings=settings)
    m.fit(xtr, ytr, scale=scale, epochs=epochs, progress=False)
    return m


# ---- models, training, evaluation ----------------------------------------------------------


def test_load_data_gives_the_embedded_digits(digits):
    xtr, ytr, xte, yte, scale = digits
    assert xtr.shape == (1437, 1, 8, 8) and xtr.dtype == np.uint8
    assert xte.shape == (360, 1, 8, 8) and yte.shape == (360,)
    assert scale == pytest.approx(1 / 16) and xtr.max() == 16
    assert set(np.unique(ytr)) == set(range(10))


def test_models_from_spec_dict_and_config_file(tmp_path):
    a = ttfs.Model(spec="fc32 if fc10", settings={"train.seed": 3, "model": {"time_steps": 6}})
    assert a.time_steps == 6 and a.classes == 10 and a.input_shape == (1, 8, 8)
    b = ttfs.Model({"model": {"spec": "fc32 if fc10", "time_steps": 6}, "train": {"seed": 3}})
    cfg = tmp_path / "c.toml"
    cfg.write_text('[model]\nspec = "fc32 if fc10"\ntime_steps = 6\n[train]\nseed = 3\n')
    c = ttfs.Model(str(cfg))
    # The same config gives the same initialization (the one `ttfs train` starts from).
    for m in (b, c):
        for k, v in a.parameters().items():
            np.testing.assert_array_equal(m.parameters()[k], v)
    assert 'spec = "fc32 if fc10"' in c.config
    assert ttfs.Model(spec="fc8 if fc3", input_shape=(5,)).input_shape == (1, 1, 5)


def test_fit_on_arrays_reports_progress_and_learns(digits, capsys):
    xtr, ytr, xte, yte, scale = digits
    m = ttfs.Model(spec="fc64 if fc10")
    seen = []
    hist = m.fit(xtr, ytr, validation=(xte, yte), scale=scale, epochs=4, callback=seen.append)
    out = capsys.readouterr().out
    assert out.count("epoch ") == 4 and "validation" in out
    assert [h["epoch"] for h in hist] == [1, 2, 3, 4] == [s["epoch"] for s in seen]
    assert m.epochs == 4
    acc = m.evaluate(xte, yte, scale=scale)["accuracy"]
    assert acc > 0.6, acc
    assert hist[-1]["eval"]["accuracy"] == pytest.approx(acc)
    # Float images in [0, 1] are the same images.
    np.testing.assert_array_equal(m.predict(xte[:50] / 16.0), m.predict(xte[:50], scale=scale))


def test_an_exception_in_the_callback_stops_training_and_keeps_the_parameters(digits):
    xtr, ytr, xte, _, scale = digits
    m = ttfs.Model(spec="fc16 if fc10")
    before = m.logits(xte[:20], scale=scale)

    def stop(metrics):
        raise RuntimeError(f"stop after epoch {metrics['epoch']}")

    with pytest.raises(RuntimeError, match="stop after epoch 1"):
        m.fit(xtr, ytr, scale=scale, epochs=3, progress=False, callback=stop)
    assert m.epochs == 1
    after = m.logits(xte[:20], scale=scale)
    assert after.shape == before.shape and not np.array_equal(after, before)
    m.fit(xtr, ytr, scale=scale, epochs=1, progress=False)  # the model still trains


def test_a_moving_average_is_the_model_between_epochs_and_after(digits, tmp_path):
    xtr, ytr, xte, yte, scale = digits
    m = ttfs.Model(spec="fc32 if fc10", settings={"train.ema_decay": 0.95})
    seen = []
    hist = m.fit(xtr, ytr, validation=(xte, yte), scale=scale, epochs=3, progress=False,
                 out=tmp_path / "run",
                 callback=lambda _: seen.append(m.evaluate(xte, yte, scale=scale)["loss"]))
    # What each epoch evaluated is what a callback reads, and the model after fit.
    assert seen == pytest.approx([h["eval"]["loss"] for h in hist], rel=1e-6)
    assert m.evaluate(xte, yte, scale=scale)["loss"] == pytest.approx(seen[-1], rel=1e-6)
    back = ttfs.load(tmp_path / "run" / "last.safetensors")
    for k, v in m.parameters().items():
        np.testing.assert_array_equal(back.parameters()[k], v)
    # EarlyStopping puts back the best epoch's average.
    m = ttfs.Model(spec="fc32 if fc10", settings={"train.ema_decay": 0.95, "optimizer.lr": 0.05})
    stop = ttfs.EarlyStopping(m, patience=0, monitor="loss")
    hist = m.fit(xtr, ytr, validation=(xte, yte), scale=scale, epochs=8, progress=False,
                 callback=stop)
    assert m.evaluate(xte, yte, scale=scale)["loss"] == pytest.approx(stop.best, rel=1e-6)


def read_safetensors(path):
    """The tensors of a `.safetensors` file (an 8-byte header length, a JSON header, the data)
    as float32 arrays by name."""
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    body = raw[8 + n:]
    return {k: np.frombuffer(body[v["data_offsets"][0]:v["data_offsets"][1]],
                             dtype=np.float32).reshape(v["shape"])
            for k, v in json.loads(raw[8:8 + n]).items()
            if k != "__metadata__" and v["dtype"] == "F32"}


def test_set_parameters_in_a_callback_sets_the_average_and_the_weights_trained(digits,
                                                                                tmp_path):
    xtr, ytr, _, _, scale = digits
    # A learning rate too small to move any weight: what the model holds after the second
    # epoch is what the callback set, in the average and in the weights being trained.
    m = ttfs.Model(spec="fc32 if fc10",
                   settings={"train.ema_decay": 0.9, "optimizer.lr": 1e-30})
    given = {k: 0.5 * v + 0.01 for k, v in m.parameters().items()}

    def callback(metrics):
        if metrics["epoch"] == 1:
            m.set_parameters(given)

    m.fit(xtr, ytr, scale=scale, epochs=2, progress=False, out=tmp_path / "run",
          callback=callback)
    online = read_safetensors(tmp_path / "run" / "last.safetensors")
    for k, v in given.items():
        np.testing.assert_allclose(m.parameters()[k], v, rtol=0, atol=1e-20)
        np.testing.assert_allclose(online["online." + k], v, rtol=0, atol=1e-20)


def test_incremental_time_steps_grow_the_model_and_end_at_its_own_t(digits):
    xtr, ytr, xte, yte, scale = digits
    settings = {"model.time_steps": 4, "schedule.time_steps": [[0, 1], [2, 4]]}
    m = ttfs.Model(spec="fc24 if fc10", settings=settings)
    hist = m.fit(xtr, ytr, validation=(xte, yte), scale=scale, epochs=3, progress=False)
    assert [h["time_steps"] for h in hist] == [1, 1, 4]
    ev = m.evaluate(xte, yte, scale=scale)
    assert len(ev["accuracy_at"]) == 4
    assert ev["accuracy"] == pytest.approx(hist[-1]["eval"]["accuracy"])


def test_fit_on_a_named_data_set_and_a_run_directory(tmp_path, digits):
    m = ttfs.Model(spec="fc32 if fc10")
    run = tmp_path / "run"
    hist = m.fit(data="digits", epochs=2, progress=False, out=str(run))
    assert len(hist) == 2
    files = set(os.listdir(run))
    assert {"config.toml", "metrics.jsonl", "last.safetensors"} <= files
    # Evaluated on the test split (no validation data): no epoch is chosen as the best.
    assert "best.safetensors" not in files
    back = ttfs.load(run)
    _, _, xte, _, scale = digits
    np.testing.assert_array_equal(back.logits(xte, scale=scale), m.logits(xte, scale=scale))


def test_validation_arrays_choose_the_best_epoch_and_the_flip_votes(tmp_path, digits):
    xtr, ytr, xte, yte, scale = digits
    m = ttfs.Model(spec="fc32 if fc10")
    run = tmp_path / "run"
    hist = m.fit(xtr, ytr, validation=(xte[:200], yte[:200]), scale=scale, epochs=2,
                 progress=False, out=str(run))
    assert [h["eval_split"] for h in hist] == ["validation"] * 2
    assert "best.safetensors" in os.listdir(run)
    plain = m.evaluate(xte, yte, scale=scale)
    ev = m.evaluate(xte, yte, scale=scale, flip=True)
    assert "flip" not in plain and ev["accuracy"] == plain["accuracy"]
    assert 0 <= ev["flip"]["accuracy"] <= 1 and len(ev["flip"]["accuracy_at"]) == m.time_steps
    # The mirrored images give the same two views.
    mirrored = np.ascontiguousarray(xte[..., ::-1])
    again = m.evaluate(mirrored, yte, scale=scale, flip=True)
    assert again["flip"]["accuracy"] == pytest.approx(ev["flip"]["accuracy"])


def test_save_load_and_parameters(tmp_path, digits):
    m = trained("conv4k3p1 ap2 if fc10", digits, epochs=1)
    p = m.parameters()
    assert list(p) == ["conv1.weight", "conv1.gamma", "conv1.bias", "fc2.weight", "fc2.gamma",
                       "fc2.bias"]
    assert p["conv1.weight"].shape == (4, 1, 3, 3) and p["fc2.weight"].shape == (10, 64)
    path = tmp_path / "m.safetensors"
    m.save(path)
    back = ttfs.load(path)
    for k, v in p.items():
        np.testing.assert_array_equal(back.parameters()[k], v)
    plain = m.plain_parameters()
    assert set(plain) == {"conv1.weight", "conv1.bias", "fc2.weight", "fc2.bias"}
    # Folding changes the weights but not the biases (beta is the bias).
    assert not np.allclose(plain["conv1.weight"], p["conv1.weight"])
    np.testing.assert_array_equal(plain["fc2.bias"], p["fc2.bias"])


def test_first_spike_times_mark_silent_units_with_t(digits):
    m = trained("fc48 if fc10", digits, epochs=2)
    _, _, xte, _, scale = digits
    fs = m.first_spike_times(xte[:20], scale=scale)
    assert list(fs) == m.spiking_layers == ["if1", "out"]
    t = m.time_steps
    for v in fs.values():
        assert v.dtype == np.int32 and v.min() >= 0 and v.max() <= t
    assert fs["if1"].shape == (20, 48) and fs["out"].shape == (20, 10)
    assert (fs["if1"] == t).any() and (fs["if1"] < t).any()


def test_energy_report_and_event_driven_inference_agree(digits):
    m = trained("conv6k3p1 ap2 if fc32 if fc10", digits, **{"model.encoding": "latency"})
    _, _, xte, yte, scale = digits
    ev = m.evaluate(xte, yte, scale=scale)
    e = ev["energy_summary"]
    assert e["synops"] > 0 and e["analog_macs"] == 0
    assert e["energy_pj"] == pytest.approx(e["synops"] * ttfs.PJ_PER_AC)
    assert e["dense_energy_pj"] == pytest.approx(e["dense_macs"] * 4.6)
    assert e["early_exit"]["synops"] <= e["synops"]
    assert e["by_step"][-1]["synops"] == pytest.approx(e["synops"])
    full = m.classify_events(xte, scale=scale)
    assert full["synops"].mean() == pytest.approx(e["synops"])
    np.testing.assert_array_equal(full["predictions"], m.predict(xte, scale=scale))
    early = m.classify_events(xte, scale=scale, early_exit=True)
    assert early["synops"].mean() == pytest.approx(e["early_exit"]["synops"])
    assert early["decision_step"].mean() == pytest.approx(e["early_exit"]["mean_step"])


# ---- NIR ----------------------------------------------------------------------------------


@pytest.fixture
def nir():
    # Per test, not at module level: without `nir` only the tests that read graphs skip.
    return pytest.importorskip("nir")


def check_nir(nir, m, path, x, scale, direct):
    nodes = m.export_nir(path)
    g = nir.read(str(path))
    assert [n.split(":")[0] for n in nodes] == nirsim.chain(g)
    assert int(g.metadata["time_steps"]) == m.time_steps
    assert int(g.metadata["fire_once"]) == 1
    assert g.metadata["input_encoding"].startswith("direct" if direct else "latency")
    # Every weight and bias, bit for bit.
    plain = m.plain_parameters()
    synapses = [k for k, n in g.nodes.items() if type(n).__name__ in ("Affine", "Conv2d")]
    assert sorted(f"{s}.{f}" for s in synapses for f in ("weight", "bias")) == sorted(plain)
    for s in synapses:
        np.testing.assert_array_equal(g.nodes[s].weight, plain[f"{s}.weight"])
        np.testing.assert_array_equal(g.nodes[s].bias, plain[f"{s}.bias"])
    # The same names: every layer is a node, every spiking layer an IF node.
    assert set(m.layer_names) <= set(g.nodes)
    for name in m.spiking_layers:
        assert type(g.nodes[name]).__name__ == "IF"
        assert int(g.nodes[name].metadata["fire_once"]) == 1
        if not name.startswith("pool"):
            assert np.all(g.nodes[name].v_threshold == 1.0)
    # The read-back graph simulated: the same first-spike times as ttfs. A difference is
    # allowed only downstream of a potential within float rounding of the threshold (the
    # simulator sums in float64 and in another order).
    want = m.first_spike_times(x, scale=scale)
    enc = m.encode(x, scale=scale)
    preds = m.predict(x, scale=scale)
    exact = 0
    for b in range(len(x)):
        first, pots, logits = nirsim.simulate(g, enc[:, b])
        diverged = False
        for name in m.spiking_layers:
            got = first[name]
            bad = got != want[name][b]
            if bad.any() and not diverged:
                step = np.minimum(got, want[name][b])[bad]
                v = pots[name][:, bad]
                near = np.abs(v[np.minimum(step, m.time_steps - 1), np.arange(v.shape[1])] - 1)
                assert np.all(near < 1e-4), f"sample {b}, {name}: first spikes differ"
                diverged = True
        if not diverged:
            exact += 1
            assert np.argmax(logits) == preds[b]
    assert exact >= len(x) - 1, f"only {exact} of {len(x)} samples agree exactly"
    return g


def test_nir_round_trip_mlp_latency(tmp_path, digits, nir):
    m = trained("fc64 if fc10", digits, **{"model.encoding": "latency"})
    _, _, xte, _, scale = digits
    g = check_nir(nir, m, tmp_path / "mlp.nir", xte[:12], scale, direct=False)
    assert type(g.nodes["out"]).__name__ == "IF"


def test_nir_round_trip_conv_direct_membrane(tmp_path, digits, nir):
    m = trained("conv8k3p1 ap2 if conv12k3p1 if fp2 fc32 if fc10", digits,
                **{"model.decoder.kind": "membrane", "model.decoder.scale": 10.0})
    _, _, xte, _, scale = digits
    g = check_nir(nir, m, tmp_path / "cnn.nir", xte[:12], scale, direct=True)
    assert m.spiking_layers == ["if1", "if2", "pool1", "if3"]
    kinds = [type(g.nodes[n]).__name__ for n in nirsim.chain(g)]
    assert kinds == ["Input", "Conv2d", "AvgPool2d", "IF", "Conv2d", "IF", "SumPool2d", "IF",
                     "Flatten", "Affine", "IF", "Affine", "I", "Output"]


def test_nir_export_refuses_what_nir_cannot_state(tmp_path):
    with pytest.raises(ttfs.TtfsError, match="maximum of currents"):
        ttfs.Model(spec="conv4k3p1 mp2 if fc10").export_nir(tmp_path / "x.nir")
    with pytest.raises(ttfs.TtfsError, match="count"):
        ttfs.Model(spec="fc8 if fc10", settings={"model.decoder.kind": "count"}).export_nir(
            tmp_path / "y.nir")


@pytest.mark.skipif(not os.environ.get("TTFS_BIN"), reason="TTFS_BIN (the ttfs binary) not set")
def test_cli_export_nir_reads_back(tmp_path, digits, nir):
    m = trained("fc32 if fc10", digits, epochs=1)
    m.save(tmp_path / "m.safetensors")
    out = tmp_path / "cli.nir"
    r = subprocess.run([os.environ["TTFS_BIN"], "export", "nir", str(tmp_path / "m.safetensors"),
                        str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    g = nir.read(str(out))
    np.testing.assert_array_equal(g.nodes["fc1"].weight, m.plain_parameters()["fc1.weight"])
    r = subprocess.run([os.environ["TTFS_BIN"], "export", "nir", str(tmp_path / "none"),
                        str(out)], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.startswith("error: ") and "does not exist" in r.stderr
