"""Bad inputs: each is a ttfs.TtfsError (a ValueError) with a message that says what is wrong
in Python's terms, never a Rust panic, an abort of the interpreter or an OverflowError; and
what is not an error but could mislead (an untrained model evaluated, a forgotten scale, an
epoch without validation data) says so or does the right thing.

`python tests/test_errors.py` prints the table of docs/python.md ("Errors"): input, exception
and message, from the cases below."""

import sys
import traceback
import warnings

import numpy as np
import pytest

import ttfs


def _digits():
    return ttfs.load_data("digits")


@pytest.fixture(scope="module")
def digits():
    return _digits()


def small():
    return ttfs.Model(spec="fc16 if fc10")


def fit(m, d, **kw):
    xtr, ytr, _, _, scale = d
    args = dict(scale=scale, epochs=1, progress=False)
    args.update(kw)
    return m.fit(xtr, ytr, **args)


# (input as a user writes it, the call, the message it must give: a regular expression)
CASES = [
    ('Model(spec="fc1000000000 if fc10")', lambda d: ttfs.Model(spec="fc1000000000 if fc10"),
     r"fc1 \(`fc1000000000`\): 1000000000 x 64 weights need 256 GB .* of memory"),
    ('Model(..., input_shape=(0,))',
     lambda d: ttfs.Model(spec="fc8 if fc3", input_shape=(0,)),
     r"input shape \[1, 1, 0\]: every dimension must be at least 1"),
    ('Model(..., input_shape=(-1,))',
     lambda d: ttfs.Model(spec="fc8 if fc3", input_shape=(-1,)),
     r"input_shape entries must be at least 0, got -1"),
    ('Model(settings={"model.time_steps": 10**12})',
     lambda d: ttfs.Model(settings={"model.time_steps": 10**12}),
     r"model.time_steps = 1000000000000: one sample's input needs 256 TB"),
    ('Model(spec="fc64 if fx10")', lambda d: ttfs.Model(spec="fc64 if fx10"),
     r"unknown layer `fx10`"),
    ('Model(spec=5)', lambda d: ttfs.Model(spec=5), r"spec must be a string"),
    ('Model(settings={"optimizer.lrr": 0.1})',
     lambda d: ttfs.Model(settings={"optimizer.lrr": 0.1}),
     r"unknown field `lrr`, expected one of"),
    ('Model(settings=[1])', lambda d: ttfs.Model(settings=[1]), r"settings must be a dict"),
    ('Model("/nonexistent.toml")', lambda d: ttfs.Model("/nonexistent.toml"),
     r"cannot read config"),
    ('Model(device="cuda") (a wheel without CUDA)', lambda d: ttfs.Model(device="cuda"),
     r"built without CUDA support. Install a CUDA build of the wheel"),
    ('Model(device="tpu")', lambda d: ttfs.Model(device="tpu"), r"unknown device `tpu`"),
    ('ttfs.load("/nonexistent/run")', lambda d: ttfs.load("/nonexistent/run"),
     r"does not exist \(give a checkpoint file or a run directory\)"),
    ("fit(x, y, epochs=-1)", lambda d: fit(small(), d, epochs=-1),
     r"epochs must be at least 1, got -1"),
    ("fit(x, y, epochs=0)", lambda d: fit(small(), d, epochs=0),
     r"epochs is 0: there is nothing to train"),
    ('fit(x, y) with settings {"train.epochs": 0}',
     lambda d: fit(ttfs.Model(spec="fc16 if fc10", settings={"train.epochs": 0}), d,
                   epochs=None),
     r"epochs is 0: there is nothing to train"),
    ("fit(x, y, epochs=1.5)", lambda d: fit(small(), d, epochs=1.5),
     r"epochs must be a whole number, got 1.5"),
    ("fit(x, y, epochs=10**30)", lambda d: fit(small(), d, epochs=10**30),
     r"epochs = 10+ is too large"),
    ("fit(x) (no labels)", lambda d: small().fit(d[0], scale=d[4], epochs=1),
     r"labels y are needed with x \(or give an iterable of \(x, y\) batches"),
    ("fit(x, y) with a label 10 (10 classes)",
     lambda d: small().fit(d[0][:100], np.r_[d[1][:99], 10], scale=d[4], epochs=1),
     r"label 10 is out of range: the model has 10 classes, 0 to 9"),
    ("fit(x, y) with a label -1",
     lambda d: small().fit(d[0][:100], np.r_[d[1][:99], -1], scale=d[4], epochs=1),
     r"label -1 is out of range: the model has 10 classes, 0 to 9"),
    ("fit(x, y) with float labels", lambda d: fit(small(), (d[0], d[1] * 1.0) + d[2:]),
     r"labels must be class numbers \(integers\), got dtype float64"),
    ("fit(x, y) with one-hot labels", lambda d: fit(small(), (d[0], np.eye(10, dtype=int)[d[1]])
                                                    + d[2:]),
     r"labels must be one class number per sample, shape \[N\], got shape \(1437, 10\)"),
    ("fit(x, y[:5])", lambda d: fit(small(), (d[0], d[1][:5]) + d[2:]),
     r"1437 images but 5 labels"),
    ("fit(x[:0], y[:0])", lambda d: fit(small(), (d[0][:0], d[1][:0]) + d[2:]),
     r"no training samples \(x is empty\)"),
    ("fit(x, y) on the digits (values 0 to 16) without scale",
     lambda d: fit(small(), d, scale=None),
     r"integer images with values 0 to 16 and no scale: give scale="),
    ("fit(x, y, scale=0)", lambda d: fit(small(), d, scale=0),
     r"scale must be a positive number, got 0"),
    ("fit(x, y, scale=1.0) on values 0 to 16", lambda d: fit(small(), d, scale=1.0),
     r"values up to 16 at scale 1 reach intensity 16; intensities end at 1"),
    ("predict(x / 16.0, scale=1/16) (floats and a scale)",
     lambda d: small().predict(d[2] / 16.0, scale=d[4]),
     r"scale= applies to integer images; float images are intensities"),
    ("predict(float images with 2.0)", lambda d: small().predict(np.full((1, 1, 8, 8), 2.0)),
     r"float images must hold intensities in \[0, 1\]"),
    ("predict(float images with NaN)", lambda d: small().predict(np.full((1, 1, 8, 8), np.nan)),
     r"float images must hold intensities in \[0, 1\]"),
    ("predict(integer images with 1600)",
     lambda d: small().predict(d[2].astype(int) * 100, scale=1 / 2000),
     r"integer images must hold values 0 to 255 \(times scale: intensities\), got 0 to 1600"),
    ("predict(complex images)", lambda d: small().predict(np.zeros((2, 1, 8, 8), complex)),
     r"images of dtype complex128 are not supported"),
    ("predict(x of shape (5,))", lambda d: small().predict(np.zeros(5, np.uint8), scale=1 / 16),
     r"images must be \[N, C, H, W\], \[N, H, W\] or \[N, F\], got shape \(5,\)"),
    ("predict(x of shape (2, 1, 5, 5)) (model for 8x8)",
     lambda d: small().predict(np.zeros((2, 1, 5, 5), np.uint8), scale=1 / 16),
     r"samples are \[1, 5, 5\] \(\[C, H, W\]\) but the model was built for \[1, 8, 8\]"),
    ("evaluate(x) (no labels)", lambda d: small().evaluate(d[2], scale=d[4]),
     r"evaluate: labels y are needed"),
    ('evaluate(data="digits", split="val")',
     lambda d: small().evaluate(data="digits", split="val"), r"unknown split `val`"),
    ('fit(data="nope")', lambda d: small().fit(data="nope", epochs=1),
     r"unknown data set `nope` \(known: digits"),
    ("fit([]) (a loader without batches)", lambda d: small().fit([], epochs=1),
     r"the data loader gave no batches"),
    ("fit([x]) (batches that are not (x, y))", lambda d: small().fit([d[0][:10]], epochs=1),
     r"batches must be \(x, y\) pairs, got a ndarray"),
    ('Model(settings={"train.batch_size": 10**12}).fit(x, y)',
     lambda d: fit(ttfs.Model(spec="fc16 if fc10", settings={"train.batch_size": 10**12}), d),
     r"train.batch_size = 1000000000000 is larger than the 1437 training samples"),
    ("fit(x, y, callback=lambda m: model.fit(x, y)) (fit inside its own fit)",
     lambda d: (lambda m: fit(m, d, epochs=2, callback=lambda _: fit(m, d)))(small()),
     r"this model is already training"),
    ("fit(x, y, on_step=lambda i: model.predict(x)) (the model inside a step)",
     lambda d: (lambda m: fit(m, d, on_step=lambda _: m.predict(d[2])))(small()),
     r"the model is inside a training step: read or change it in the epoch callback"),
    ("fit(x, y, callback=EarlyStopping(model)) without validation",
     lambda d: (lambda m: fit(m, d, epochs=2, callback=ttfs.EarlyStopping(m)))(small()),
     r"EarlyStopping needs validation data"),
    ('set_parameters({"fc9.weight": ...})',
     lambda d: small().set_parameters({"fc9.weight": np.zeros(3)}),
     r"the model has no parameter `fc9.weight` \(it has: fc1.weight"),
    ('set_parameters({"fc2.weight": zeros(3)})',
     lambda d: small().set_parameters({"fc2.weight": np.zeros(3)}),
     r"parameter `fc2.weight` has shape \[10, 16\] in the model, the value given \[3\]"),
    ('set_parameters({"fc2.bias": NaNs})',
     lambda d: small().set_parameters({"fc2.bias": np.full(10, np.nan)}),
     r"the value given holds NaN or infinite numbers"),
    ("set_threads(0)", lambda d: ttfs.set_threads(0), r"threads must be at least 1, got 0"),
]


@pytest.mark.parametrize("what,call,message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_ttfs_error_with_a_message(what, call, message, digits):
    with pytest.raises(ttfs.TtfsError, match=message) as e:
        call(digits)
    assert isinstance(e.value, ValueError)
    # What a user sees: the class under the package's name, and no Rust range notation.
    shown = "".join(traceback.format_exception_only(e.type, e.value))
    assert shown.startswith("ttfs.TtfsError: "), shown
    assert ".." not in str(e.value).replace("...", ""), str(e.value)


def test_the_cuda_message_does_not_send_a_python_user_to_cargo():
    if ttfs.CUDA:
        pytest.skip("a CUDA build: device=\"cuda\" fails (if at all) for want of a GPU")
    with pytest.raises(ttfs.TtfsError) as e:
        ttfs.Model(device="cuda:1")
    assert "cargo" not in str(e.value) and "pip install" in str(e.value)


def test_the_interpreter_survives_a_model_too_large_for_memory():
    with pytest.raises(ttfs.TtfsError):
        ttfs.Model(spec="fc1000000000 if fc10")
    assert ttfs.Model(spec="fc8 if fc10").classes == 10


def test_evaluating_an_untrained_model_warns(digits):
    _, _, xte, yte, scale = digits
    m = small()
    with pytest.warns(ttfs.TtfsWarning, match="never trained"):
        m.evaluate(xte, yte, scale=scale)
    fit(m, digits)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.evaluate(xte, yte)


def test_the_model_keeps_its_input_scale_so_a_forgotten_scale_is_no_error(digits, tmp_path):
    xtr, ytr, xte, yte, scale = digits
    m = small()
    assert m.input_scale is None
    fit(m, digits, epochs=3)
    assert m.input_scale == pytest.approx(scale)
    # Without scale= the model's own: the same results as with it.
    np.testing.assert_array_equal(m.logits(xte), m.logits(xte, scale=scale))
    assert m.evaluate(xte, yte)["accuracy"] == m.evaluate(xte, yte, scale=scale)["accuracy"]
    # Saved with the model, and read back.
    m.save(tmp_path / "m.safetensors")
    back = ttfs.load(tmp_path / "m.safetensors")
    assert back.input_scale == pytest.approx(scale)
    np.testing.assert_array_equal(back.logits(xte), m.logits(xte, scale=scale))
    # A scale that differs from the model's is used, with a warning.
    with pytest.warns(ttfs.TtfsWarning, match="differs from the scale the model was trained"):
        m.logits(xte, scale=1 / 32)
    # 8-bit images (a value above 127) need no scale the first time: 1/255.
    m8 = ttfs.Model(spec="fc16 if fc10")
    m8.fit(xtr * 15, ytr, epochs=1, progress=False)
    assert m8.input_scale == pytest.approx(1 / 255)
    # A run directory of `ttfs train` / fit(data=...) keeps the data set's scale.
    r = ttfs.Model(spec="fc16 if fc10")
    r.fit(data="digits", epochs=1, progress=False, out=tmp_path / "run")
    assert r.input_scale == pytest.approx(scale)
    assert ttfs.load(tmp_path / "run").input_scale == pytest.approx(scale)


def test_a_history_without_validation_reports_no_evaluation(digits, capsys):
    hist = fit(small(), digits, epochs=2, progress=True)
    assert [h["eval"] for h in hist] == [None, None]
    out = capsys.readouterr().out
    assert out.count("(no validation data)") == 2 and "test 0.00%" not in out


def table():
    """The rows of docs/python.md's table, from running every case."""
    d = _digits()
    rows = ["| input | exception: message |", "|---|---|"]
    for what, call, _ in CASES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                call(d)
                got = "(no error)"
            except Exception as e:  # noqa: BLE001 - the table shows whatever it is
                got = f"{type(e).__module__}.{type(e).__name__}: {e}"
        rows.append(f"| `{what}` | {got.replace('|', '/')} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.stdout.write(table() + "\n")
