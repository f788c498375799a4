"""Property-based tests of the training configuration: any value either makes a config that survives config.json
unchanged, or raises ConfigError; nothing else ever escapes (no TypeError, OverflowError, ...)."""

from __future__ import annotations

import dataclasses
import json
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganzoo.engine.config import MAX_SEED, TrainConfig, resolve
from ganzoo.engine.device import select_device
from ganzoo.errors import ConfigError, DeviceError, GanzooError

FIELDS = [f.name for f in dataclasses.fields(TrainConfig)]
# GANZOO_HYPOTHESIS_EXAMPLES=5000 for a deeper search than the quick default
SETTINGS = settings(max_examples=int(os.environ.get("GANZOO_HYPOTHESIS_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)
anything = json_values | st.integers(min_value=2**64) | st.floats(allow_nan=True, allow_infinity=True)

positive = st.integers(min_value=1, max_value=10**12)
valid_fields = {
    "variant": st.text(min_size=1, max_size=20).filter(str.strip),
    "dataset": st.none() | st.sampled_from(["mnist", "cifar10", "folder:/data/x y", "ring8"]),
    "data_dir": st.none() | st.text(min_size=1, max_size=20).filter(str.strip),
    "steps": st.none() | positive,
    "batch_size": st.none() | positive,
    "image_size": st.none() | positive,
    "channels": st.none() | st.sampled_from([1, 3]),
    "z_dim": st.none() | positive,
    "n_critic": st.none() | positive,
    "loss": st.none() | st.sampled_from(["hinge", "wasserstein", "non_saturating"]),
    "network": st.none() | st.dictionaries(st.sampled_from(["width", "g_width", "output_bias", "norm"]),
                                           st.none() | st.booleans() | st.integers(1, 256)
                                           | st.sampled_from(["layer", "none"]), max_size=3),
    "regularisers": st.none() | st.dictionaries(st.sampled_from(["r1", "r2", "gradient_penalty", "weight_clip"]),
                                                st.floats(min_value=1e-300, max_value=1e300) | st.integers(1, 10),
                                                max_size=3),
    "init": st.none() | st.sampled_from(["pretrained:dcgan/mnist", "runs/dcgan", "hf://owner/name"]),
    "lr_g": st.none() | st.floats(min_value=1e-300, max_value=1e300) | st.integers(1, 10),
    "lr_d": st.none() | st.floats(min_value=1e-300, max_value=1e300),
    "ema_decay": st.none() | st.floats(min_value=0.0, max_value=1.0, exclude_max=True) | st.just(0),
    "lr_decay": st.none() | st.floats(min_value=0.0, max_value=1.0) | st.just(1),
    "seed": st.integers(min_value=0, max_value=MAX_SEED),
    "device": st.sampled_from(["auto", "cpu", "cuda", "cuda:1", "mps"]),
    "fid_every": st.none() | st.integers(min_value=0, max_value=10**12),
    "fid_extractor": st.none() | st.sampled_from(["mnist-classifier", "inception"]),
    "fid_samples": st.none() | positive,
    "sample_every": positive,
    "checkpoint_every": positive,
    "keep_checkpoints": positive,
    "amp": st.sampled_from(["auto", "off", "bf16", "fp16"]),
    "compile": st.booleans(),
    "skip_bad_images": st.booleans(),
    "log": st.lists(st.sampled_from(["tensorboard", "wandb", "mine"]), max_size=3).map(tuple),
}
assert sorted(valid_fields) == sorted(FIELDS)


def _round_trip(config: TrainConfig) -> None:
    again = TrainConfig.from_dict(json.loads(config.to_json()))
    assert again == config
    assert again.to_json() == config.to_json()


@SETTINGS
@given(st.fixed_dictionaries({}, optional=valid_fields).map(lambda d: {"variant": "dcgan", **d}))
def test_valid_configs_round_trip_through_config_json(fields):
    config = TrainConfig(**fields)
    _round_trip(config)
    for name in ("lr_g", "lr_d", "ema_decay", "lr_decay"):  # stored as floats, so 1 and 1.0 are the same config
        value = getattr(config, name)
        assert value is None or type(value) is float


@SETTINGS
@given(st.sampled_from(FIELDS), anything)
def test_any_value_of_any_field_is_valid_or_a_config_error(name, value):
    try:
        config = TrainConfig(**{"variant": "dcgan", name: value})
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    _round_trip(config)


@pytest.mark.parametrize("name, value", [
    ("steps", 0), ("steps", -1), ("steps", 2.5), ("steps", True), ("steps", "10"),
    ("batch_size", 0), ("image_size", -32), ("channels", 0), ("z_dim", 1.0), ("n_critic", False),
    ("lr_g", 0), ("lr_g", -1e-4), ("lr_g", math.nan), ("lr_g", math.inf), ("lr_g", "0.1"), ("lr_g", 10**400),
    ("ema_decay", 1.0), ("ema_decay", -0.1), ("ema_decay", True), ("ema_decay", math.nan),
    ("lr_decay", 1.01), ("lr_decay", -0.5), ("lr_decay", False), ("lr_decay", math.inf), ("lr_decay", "0.5"),
    ("seed", -1), ("seed", MAX_SEED + 1), ("seed", 1.0), ("seed", None),
    ("device", ""), ("device", 3), ("amp", "fp8"), ("amp", None), ("compile", "yes"), ("compile", 1),
    ("sample_every", 0), ("checkpoint_every", True), ("keep_checkpoints", -3),
    ("variant", ""), ("variant", None), ("variant", "  "), ("dataset", ""), ("loss", 5), ("data_dir", []),
    ("regularisers", {"r1": 0}), ("regularisers", {"r1": -1.0}), ("regularisers", {"r1": math.inf}),
    ("regularisers", {"r1": "1"}), ("regularisers", {"r1": True}), ("regularisers", {"": 1.0}),
    ("regularisers", {"r1": 10**400}), ("regularisers", ["r1"]), ("fid_every", -1), ("fid_every", 1.5),
    ("fid_samples", 0), ("fid_extractor", ""),
    ("network", {"width": [1]}), ("network", {"1x": 3}), ("network", {"width": math.nan}), ("network", "wide"),
    ("skip_bad_images", 1), ("log", "tensorboard"), ("log", [""]),
    ("log", [3]), ("log", {"tensorboard": 1}),
])
def test_known_bad_values_are_config_errors(name, value):
    with pytest.raises(ConfigError, match=name if name in ("regularisers", "network") else name.replace("_", "-")):
        TrainConfig(**{"variant": "dcgan", name: value})


@SETTINGS
@given(st.dictionaries(st.text(max_size=12) | st.sampled_from(FIELDS), anything, max_size=6))
def test_any_mapping_from_config_json_is_valid_or_a_config_error(data):
    try:
        config = TrainConfig.from_dict(data)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        return
    _round_trip(config)


@SETTINGS
@given(st.binary(max_size=64) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_config_file_is_valid_or_a_config_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("config") / "config.json"
    path.write_bytes(content)
    try:
        TrainConfig.from_file(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)


@pytest.fixture(scope="module")
def registry():
    from ganzoo.plugins import get_registry

    return get_registry()


@SETTINGS
@given(variant=st.sampled_from(["dcgan", "gan", "wgan-gp", "sngan", "nope"]),
       dataset=st.none() | st.sampled_from(["mnist", "ring8", "cifar10", "folder:/x", "mnsit", "folder"]),
       image_size=st.none() | st.integers(1, 300), channels=st.none() | st.integers(1, 5),
       loss=st.none() | st.sampled_from(["hinge", "minimax", "hinje"]))
def test_resolving_against_the_registry_fills_defaults_or_explains(registry, variant, dataset, image_size, channels,
                                                                   loss):
    try:
        config = TrainConfig(variant=variant, dataset=dataset, image_size=image_size, channels=channels, loss=loss)
        resolved = resolve(config, registry)
    except GanzooError as exc:
        assert "\n" not in str(exc)
        return
    assert None not in (resolved.steps, resolved.batch_size, resolved.z_dim, resolved.loss, resolved.lr_g)
    assert resolve(resolved, registry) == resolved  # resolving is idempotent: a resumed run resolves again
    _round_trip(resolved)


@SETTINGS
@given(st.text(max_size=16) | st.sampled_from(["cpu", "cuda", "cuda:0", "cuda:-1", "cuda:x", "mps", "meta",
                                                "cpu:0", "xla", "cuda:99999999999999999999"]))
def test_any_device_string_is_a_device_or_a_device_error(name):
    try:
        device = select_device(name)
    except DeviceError as exc:
        assert "\n" not in str(exc)
        return
    assert device.type in ("cpu", "cuda", "mps")
