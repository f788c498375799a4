"""ganzoo lab: recording leaves training untouched, frames decode to what the networks did, the page is
self-contained, third-party layers plug in, and the live session and its server refuse bad requests."""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from helpers import registry_with

import ganzoo
from ganzoo.engine import TrainConfig, Trainer
from ganzoo.engine.rundir import RunDir
from ganzoo.lab import record, render_page, write_page
from ganzoo.lab import recording as record_module
from ganzoo.lab.encode import MISSING, POSITION_SCALE, LayerError, encode
from ganzoo.lab.server import LabServer
from ganzoo.lab.session import LiveSession, SessionError
from ganzoo.plugins import get_registry


def _weights(*nets: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{i}.{k}": v.detach().clone() for i, net in enumerate(nets) for k, v in net.state_dict().items()}


def _record_keeping_trainer(monkeypatch, config: TrainConfig, **kwargs):
    """``record(config)``, and the trainer it drove."""
    made = []
    real = record_module.lab_trainer

    def keep(*args):
        made.append(real(*args))
        return made[-1]

    monkeypatch.setattr(record_module, "lab_trainer", keep)
    return record(config, **kwargs), made[0]


def _page_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="lab-data">(.*?)</script>', html, re.S)
    assert match, "the page carries its data inline"
    return json.loads(match.group(1))


def _positions(encoded: str, box: list[float]) -> np.ndarray:
    """What lab.js does with a points layer: int16 back to plane coordinates."""
    q = np.frombuffer(base64.b64decode(encoded), dtype="<i2").reshape(-1, 2).astype(float)
    x0, x1, y0, y1 = box
    return np.stack([(x0 + x1) / 2 + q[:, 0] / POSITION_SCALE * (x1 - x0) / 2,
                     (y0 + y1) / 2 + q[:, 1] / POSITION_SCALE * (y1 - y0) / 2], axis=1)


# --- recording ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("variant", "extra"),
                         [("gan", {}), ("wgan-gp", {}), ("sngan", {}), ("gan", {"loss": "rpgan"})],
                         ids=["gan", "wgan-gp (penalty, n_critic 5)", "sngan (spectral norm, EMA)", "gan+rpgan"])
def test_recording_leaves_training_bit_identical(monkeypatch, tmp_path, variant, extra):
    config = TrainConfig(variant, dataset="ring8", steps=6, batch_size=32, device="cpu", **extra)
    recording, recorded = _record_keeping_trainer(monkeypatch, config, every=2)
    assert [f.step for f in recording.frames] == [0, 2, 4, 6]

    plain = Trainer(config, RunDir(tmp_path / "unused"), get_registry())
    for _ in range(6):
        plain.train_step()
    nets = lambda t: (t.G, t.D, *([t.ema.module] if t.ema else []))  # noqa: E731
    for (name, a), b in zip(_weights(*nets(recorded)).items(), _weights(*nets(plain)).values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


def test_a_recorded_run_ends_with_the_weights_ganzoo_train_writes(monkeypatch, tmp_path):
    config = TrainConfig("gan", dataset="ring8", steps=5, batch_size=32, device="cpu", seed=3)
    _, recorded = _record_keeping_trainer(monkeypatch, config, every=1)
    ganzoo.train("gan", tmp_path / "run", dataset="ring8", steps=5, batch_size=32, device="cpu", seed=3)
    loaded = ganzoo.load(tmp_path / "run")
    for (name, a), b in zip(_weights(recorded.G, recorded.D).items(),
                            _weights(loaded.generator, loaded.discriminator).values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("variant", [n for n in ganzoo.list_variants()
                                     if "points" in get_registry().variant(n).data_kinds])
def test_every_point_variant_records_every_layer(variant):
    recording = record(TrainConfig(variant, dataset="ring8", steps=2, batch_size=16, device="cpu"), every=1)
    names = {layer["name"] for layer in recording.header["layers"]}
    assert {"real", "fake", "heatmap", "gradients", "manifold"} <= names
    assert set(recording.header["static"]) == {"real"}
    last = recording.frames[-1]
    assert set(last.layers) == names - {"real"}
    assert last.values["d_loss"] is not None and last.values["g_loss"] is not None
    assert set(last.values) >= {"modes_covered", "high_quality", "kl_uniform"}


def test_frames_decode_to_the_generators_samples_and_the_page_is_self_contained(monkeypatch, tmp_path):
    config = TrainConfig("gan", dataset="grid25", steps=3, batch_size=16, z_dim=2, device="cpu")
    recording, trainer = _record_keeping_trainer(monkeypatch, config, every=3)
    page = write_page(tmp_path / "lab.html", [recording]).read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "nothing is loaded from the network"
    assert "default-src 'none'" in page
    data = _page_data(page)["recordings"][0]
    box = data["box"]
    assert box[1] - box[0] == pytest.approx(box[3] - box[2])  # square: circles stay round
    assert box[0] < -4 and box[1] > 4  # grid25 spans [-4, 4]

    frame = data["frames"][-1]
    assert frame["step"] == 3
    shown = _positions(frame["layers"]["fake"]["q"], box)
    g = trainer.G.eval()
    with torch.no_grad():
        expected = g(record_module.Recorder(trainer, get_registry()).z).numpy()
    resolution = (box[1] - box[0]) / 2 / POSITION_SCALE
    np.testing.assert_allclose(shown, expected, atol=resolution)

    mesh = frame["layers"]["manifold"]
    assert (mesh["rows"], mesh["cols"]) == (21, 21)  # z_dim 2: the whole noise grid
    heat = frame["layers"]["heatmap"]
    assert len(base64.b64decode(heat["q"])) == 48 * 48 and heat["lo"] < heat["hi"]
    arrows = frame["layers"]["gradients"]
    directions = np.frombuffer(base64.b64decode(arrows["v"]), dtype="i1").reshape(-1, 2).astype(float)
    assert np.linalg.norm(directions, axis=1).max() == pytest.approx(127, abs=1)  # relative to the longest


def test_every_defaults_to_about_200_frames():
    assert record_module.default_every(3000) == 15
    assert record_module.default_every(100) == 1
    with pytest.raises(ganzoo.ConfigError, match="every"):
        record(TrainConfig("gan", dataset="ring8", steps=2), every=0)


def test_image_data_is_refused_with_a_hint():
    with pytest.raises(ganzoo.ConfigError, match="2-D point data.*ring8"):
        record(TrainConfig("gan", dataset="mnist", steps=2))


# --- encoding -------------------------------------------------------------------------------------------------

def test_encoding_quantises_pins_far_points_and_marks_missing_ones():
    box = (-2.0, 2.0, -2.0, 2.0)
    points = torch.tensor([[0.0, 0.0], [2.0, -2.0], [1e6, 0.0], [float("nan"), 1.0]])
    q = np.frombuffer(base64.b64decode(encode("points", points, box, (1, 1))["q"]), dtype="<i2").reshape(-1, 2)
    assert q.tolist() == [[0, 0], [POSITION_SCALE, -POSITION_SCALE], [32767, 0], [MISSING, MISSING]]
    heat = encode("heatmap", torch.tensor([1.0, 3.0, 2.0, float("nan")]), box, (2, 2))
    assert list(base64.b64decode(heat["q"])) == [0, 255, 128, 0] and (heat["lo"], heat["hi"]) == (1.0, 3.0)
    flat = encode("heatmap", torch.zeros(4), box, (2, 2))
    assert list(base64.b64decode(flat["q"])) == [0, 0, 0, 0]
    for kind, wrong in (("points", torch.zeros(3, 3)), ("mesh", torch.zeros(3, 2)), ("arrows", torch.zeros(3, 2)),
                        ("heatmap", torch.zeros(5))):
        with pytest.raises(LayerError, match=kind.rstrip("s")):
            encode(kind, wrong, box, (2, 2))


# --- a third-party layer ----------------------------------------------------------------------------------------

def _layer_plugin(shape_ok: bool = True) -> ModuleType:
    module = ModuleType("lab_layer_plugin")

    def score_norm(probe: ganzoo.LabProbe) -> torch.Tensor:
        """|grad D| over the plane: where D changes fastest."""
        x = probe.grid.clone().requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(probe.discriminator(x).sum(), x)
        return grad.norm(dim=1) if shape_ok else grad

    @ganzoo.hookimpl
    def ganzoo_register_lab_layers(register):
        register(ganzoo.LabLayerSpec("d-slope", "|grad D|", "heatmap", score_norm, colour="#ffffff #000000",
                                     visible=False))

    module.ganzoo_register_lab_layers = ganzoo_register_lab_layers
    return module


def test_a_plugin_layer_is_recorded_drawn_under_the_points_and_off_until_toggled():
    registry = registry_with(_layer_plugin())
    recording = record(TrainConfig("gan", dataset="ring8", steps=1, batch_size=16, device="cpu"), registry=registry)
    layers = recording.header["layers"]
    kinds = [layer["kind"] for layer in layers]
    assert kinds == sorted(kinds, key=["heatmap", "mesh", "points", "arrows"].index)
    mine = next(layer for layer in layers if layer["name"] == "d-slope")
    assert mine["visible"] is False and mine["label"] == "|grad D|"
    assert "d-slope" in recording.frames[-1].layers


def test_a_plugin_layer_of_the_wrong_shape_is_named_in_the_error():
    registry = registry_with(_layer_plugin(shape_ok=False))
    with pytest.raises(LayerError, match="lab layer 'd-slope'.*heatmap"):
        record(TrainConfig("gan", dataset="ring8", steps=1, batch_size=16, device="cpu"), registry=registry)


def test_lab_layer_specs_are_checked():
    with pytest.raises(ganzoo.PluginError, match="kind"):
        ganzoo.LabLayerSpec("x", "x", "surface", lambda probe: probe.real)
    with pytest.raises(ganzoo.PluginError, match="colour"):
        ganzoo.LabLayerSpec("x", "x", "points", lambda probe: probe.real, colour='red"><script>')


def test_page_text_is_escaped_and_comparison_pages_hold_every_recording():
    recording = record(TrainConfig("gan", dataset="ring8", steps=1, batch_size=16, device="cpu"))
    recording.header["title"] = "</script><script>alert(1)</script>"
    page = render_page([recording, recording])
    assert "<script>alert(1)" not in page
    data = _page_data(page)
    assert len(data["recordings"]) == 2 and data["recordings"][0]["title"].startswith("</script>")
    assert [c["title"] for c in data["recordings"][0]["charts"]][:2] == ["losses (mean since the previous frame)",
                                                                          "modes covered"]


# --- the live session -----------------------------------------------------------------------------------------

@pytest.fixture
def session():
    live = LiveSession(TrainConfig("gan", dataset="ring8", batch_size=16, z_dim=2, device="cpu"), get_registry(),
                       every=2)
    yield live
    live.close()


def _frame(session: LiveSession, index: int = -1):
    return session.recorder.recording.frames[index]


def test_single_steps_change_only_their_network_and_each_leaves_a_frame(session):
    g0, d0 = _weights(session.trainer.G), _weights(session.trainer.D)
    state = session.act("d_step")
    assert state["step"] == 0 and state["frames"] == 2 and _frame(session).note == "D step"
    assert _weights(session.trainer.G).keys() == g0.keys()
    assert all(torch.equal(a, b) for a, b in zip(_weights(session.trainer.G).values(), g0.values(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(_weights(session.trainer.D).values(), d0.values(), strict=True))
    assert _frame(session).layers["heatmap"] != _frame(session, 0).layers["heatmap"]  # D's surface moved

    d1 = _weights(session.trainer.D)
    state = session.act("g_step")
    assert state["step"] == 1 and _frame(session).note == "G step"
    assert all(torch.equal(a, b) for a, b in zip(_weights(session.trainer.D).values(), d1.values(), strict=True))
    assert _frame(session).layers["heatmap"] == _frame(session, -2).layers["heatmap"]  # D did not move
    assert session.act("step")["step"] == 2


def test_settings_change_between_steps_and_reset_starts_over_with_them(session):
    first = _frame(session, 0).layers["fake"]
    session.act("step")
    state = session.update({"lr_g": 1e-3, "lr_d": 5e-4, "loss": "non_saturating", "n_critic": 2, "every": 3})
    assert state["settings"] == {"lr_g": 1e-3, "lr_d": 5e-4, "loss": "non_saturating", "n_critic": 2, "every": 3}
    trainer = session.trainer
    assert [g["lr"] for g in trainer.opt_g.param_groups] == [1e-3] and trainer.loss.name == "non_saturating"
    assert trainer.config.n_critic == 2
    session.act("step")
    assert _frame(session).settings["loss"] == "non_saturating"  # the page can say when the settings changed

    version = session.version
    state = session.act("reset")
    assert state["step"] == 0 and state["frames"] == 1 and session.version == version + 1
    assert state["settings"]["loss"] == "non_saturating"
    assert _frame(session, 0).layers["fake"] == first  # the same seed: the same initial generator


@pytest.mark.parametrize(("changes", "message"), [
    ({"lr_g": -1}, "lr_g must be above 0"),
    ({"lr_d": "fast"}, "lr_d must be a number"),
    ({"lr_g": float("nan")}, "lr_g must be a number"),
    ({"lr_g": True}, "lr_g must be a number"),
    ({"loss": "hing"}, "did you mean 'hinge'"),
    ({"loss": 3}, "loss must be a registered loss name"),
    ({"n_critic": 0}, "n_critic must be a whole number from 1 to 100"),
    ({"n_critic": 2.5}, "n_critic must be a whole number"),
    ({"every": 10**9}, "every must be a whole number"),
    ({"momentum": 0.9}, "unknown setting 'momentum'"),
    ({}, "JSON object"),
    ([1, 2], "JSON object"),
])
def test_bad_settings_are_refused_and_change_nothing(session, changes, message):
    before = session.settings()
    with pytest.raises(ganzoo.GanzooError, match=re.escape(message)):
        session.update(changes)
    assert session.settings() == before


def test_unknown_actions_and_frame_requests_out_of_range_are_refused(session):
    with pytest.raises(SessionError, match="unknown action 'jump'"):
        session.act("jump")
    with pytest.raises(SessionError, match="since 5 is past the last frame"):
        session.frames(session.version, 5)
    with pytest.raises(SessionError, match="version"):
        session.frames("0", 0)
    assert len(session.frames(session.version + 7, 0)["frames"]) == 1  # an old version gets every frame


def test_a_diverged_run_pauses_and_asks_for_a_reset(session):
    with torch.no_grad():
        next(session.trainer.D.parameters()).fill_(float("nan"))
    state = session.act("step")
    assert state["diverged"] and not state["playing"]
    assert "training diverged at step 1" in state["message"] and "press Reset" in state["message"]
    with pytest.raises(SessionError, match="diverged"):
        session.act("d_step")
    assert session.act("reset")["diverged"] is False


def test_long_sessions_drop_every_other_frame_and_keep_the_settings(monkeypatch, session):
    monkeypatch.setattr("ganzoo.lab.session.MAX_FRAMES", 6)
    session.update({"lr_g": 3e-4})
    for _ in range(6):
        session.act("step")
    frames = session.recorder.recording.frames
    assert len(frames) <= 6 and session.every == 4 and session.version == 1
    assert any(f.settings and f.settings.get("lr_g") == 3e-4 for f in frames)


# --- the server -------------------------------------------------------------------------------------------------

@pytest.fixture
def server(session, tmp_path):
    lab = LabServer(session, "127.0.0.1", 0, tmp_path / "watched.html")
    thread = threading.Thread(target=lab.serve_forever, daemon=True)
    thread.start()
    yield lab
    lab.shutdown()
    lab.server_close()
    thread.join(timeout=30)


def _request(url: str, body: object = None, content_type: str = "application/json", headers: dict | None = None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, headers={**({"Content-Type": content_type} if data else {}),
                                                               **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_the_server_serves_its_page_and_api_and_refuses_bad_requests(server, tmp_path):
    url = server.url
    status, page = _request(url)
    assert status == 200 and b'id="live"' in page and b"/api/frames" in page
    status, body = _request(url + "api/action", {"do": "d_step"})
    assert status == 200 and json.loads(body)["live"]["frames"] == 2
    status, body = _request(url + "api/frames?version=0&since=1")
    assert status == 200 and [f["note"] for f in json.loads(body)["frames"]] == ["D step"]

    refused = [
        (url + "api/settings", {"lr_g": -1}, 400, "lr_g must be above 0"),
        (url + "api/settings", b"{not json", 400, "not JSON"),
        (url + "api/action", {"do": "play", "extra": 1}, 400, '{"do": ACTION}'),
        (url + "api/action", {"do": "fly"}, 400, "unknown action"),
        (url + "api/frames?version=0&since=-", None, 400, "since must be a whole number"),
        (url + "api/frames?version=0", None, 400, "since=N"),
        (url + "api/frames?version=0&since=0&x=1", None, 400, "unknown parameter 'x'"),
        (url + "api/save", {"path": "/etc/passwd"}, 400, "takes no parameters"),
        (url + "../../etc/passwd", None, 404, "nothing at"),
        (url + "lab.js", None, 404, "nothing at"),
    ]
    for where, body, code, message in refused:
        status, reply = _request(where, body)
        assert status == code and message in json.loads(reply)["error"], (where, reply)
    status, reply = _request(url + "api/action", b'{"do": "play"}', content_type="text/plain")
    assert status == 415  # a cross-site form cannot post JSON without asking first
    status, reply = _request(url + "api/state", headers={"Host": "evil.example:80"})
    assert status == 403  # DNS rebinding
    status, reply = _request(url + "api/action", {"do": "play"}, headers={"Origin": "http://evil.example"})
    assert status == 403

    status, body = _request(url + "api/save", {})
    assert status == 200 and Path(json.loads(body)["path"]) == tmp_path / "watched.html"
    saved = _page_data((tmp_path / "watched.html").read_text())
    assert saved["live"] is None and len(saved["recordings"][0]["frames"]) == 2


def test_ctrl_c_stops_the_server_and_writes_what_was_watched(tmp_path, python_subprocess_env):
    out = tmp_path / "watched.html"
    process = subprocess.Popen(
        [sys.executable, "-m", "ganzoo", "lab", "gan", "--serve", "--port", "0", "--batch-size", "16", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=python_subprocess_env,
        # a suite started in the background (`cmd &`) ignores SIGINT, and children inherit that: give Ctrl-C back
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        assert _request(url + "api/action", {"do": "step"})[0] == 200
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "stopped at step 1" in stdout and "Traceback" not in stderr
    assert len(_page_data(out.read_text())["recordings"][0]["frames"]) == 2
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=5)


# --- the command line -----------------------------------------------------------------------------------------

def test_lab_command_writes_a_page_and_refuses_bad_input(tmp_path, capsys):
    from ganzoo.cli import main

    out = tmp_path / "lab.html"
    main(["lab", "gan", "lsgan", "--steps", "2", "--batch-size", "16", "--device", "cpu", "-q", "-o", str(out)])
    assert len(_page_data(out.read_text())["recordings"]) == 2
    assert "wrote" in capsys.readouterr().out
    for argv, message in ((["lab", "dcgan"], "does not train on points"),
                          (["lab", "gan", "--dataset", "mnist"], "2-D point data"),
                          (["lab", "gan", "-o", "lab.png"], "must end in .html"),
                          (["lab", "gan", "--every", "0"], "--every"),
                          (["lab", "gan", "wgan", "--serve"], "--serve trains one variant")):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
