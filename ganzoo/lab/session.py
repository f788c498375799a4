"""A live lab session: a trainer that steps in a background thread while a page watches, and the controls GAN Lab has
(play, pause, one D step, one G step, one full step, settings changed between steps, reset).

Every method takes the session's lock, so a change never lands in the middle of a step. Bad requests raise
:class:`SessionError` (a :class:`~ganzoo.errors.GanzooError`) with a one-line message; the server answers them with
HTTP 400.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from pathlib import Path
from typing import Any

from ganzoo.engine import TrainConfig, TrainingDiverged, resolve
from ganzoo.errors import GanzooError
from ganzoo.lab.page import render_page, write_page
from ganzoo.lab.recording import Frame, Recorder, lab_trainer
from ganzoo.registry import Registry

ACTIONS = ("play", "pause", "d_step", "g_step", "step", "reset")
MAX_FRAMES = 600  # beyond this every other frame is dropped and the interval doubles, so memory stays bounded
MAX_LR = 10.0
MAX_N_CRITIC = 100
MAX_EVERY = 10_000


class SessionError(GanzooError):
    """A request the live session refuses: a bad parameter, or an action that cannot be taken now."""


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SessionError(f"{name} must be a number, got {value!r}")
    return float(value)


def _integer(name: str, value: Any, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise SessionError(f"{name} must be a whole number from 1 to {high}, got {value!r}")
    return value


class LiveSession:
    """Trains ``config`` (a point dataset) under a page's control, keeping a frame every ``every`` steps and after
    every single step. ``stop_at``: pause when this step is reached (once)."""

    def __init__(self, config: TrainConfig, registry: Registry, every: int = 10, stop_at: int | None = None) -> None:
        self.registry = registry
        self.config = resolve(config, registry)  # what a reset starts from: the current settings included
        self.every = _integer("every", every, MAX_EVERY)
        self.stop_at = stop_at
        self.playing = False
        self.closed = False
        self.message, self.message_is_error = "", False
        self.version = 0  # changes when the frames are replaced (reset, thinning): the page then reloads them all
        self._lock = threading.Condition()
        self._start()
        self._thread = threading.Thread(target=self._run, name="ganzoo-lab-training", daemon=True)
        self._thread.start()

    # --- training -----------------------------------------------------------------------------------------------

    def _start(self) -> None:
        self.trainer = lab_trainer(self.config, self.registry)
        self.recorder = Recorder(self.trainer, self.registry)
        self.diverged = False
        self._lone_d_steps = 0  # single D steps since the last G step: each takes the next real batch
        self._last_real = None  # the real batch of the last single D step, for a loss whose G side needs one
        self._settings_changed = False
        self._capture(settings=self.settings())

    def settings(self) -> dict[str, Any]:
        """The settings the page can change."""
        cfg = self.config
        return {"lr_g": cfg.lr_g, "lr_d": cfg.lr_d, "loss": cfg.loss, "n_critic": cfg.n_critic, "every": self.every}

    def _capture(self, note: str = "", settings: dict[str, Any] | None = None) -> None:
        if settings is None and self._settings_changed:
            settings = self.settings()
        self._settings_changed = False
        self.recorder.capture(note, settings)
        frames = self.recorder.recording.frames
        if len(frames) > MAX_FRAMES:
            self._thin(frames)

    def _thin(self, frames: list[Frame]) -> None:
        """Keep every other frame (and the last), moving the settings of a dropped frame onto the next kept one."""
        kept, carried = [], None
        for i, frame in enumerate(frames):
            if frame.settings is not None:
                carried = {**(carried or {}), **frame.settings}
            if i % 2 == 0 or i == len(frames) - 1:
                if carried is not None:
                    frame.settings, carried = carried, None
                kept.append(frame)
        frames[:] = kept
        self.every = min(2 * self.every, MAX_EVERY)
        self.version += 1

    def _fail(self, exc: Exception) -> None:
        self.playing = False
        self.diverged = isinstance(exc, TrainingDiverged)
        detail = str(exc) if isinstance(exc, GanzooError) else f"{type(exc).__name__}: {exc}"
        self.message = f"{detail}; press Reset to start again" if self.diverged else f"training stopped: {detail}"
        self.message_is_error = True

    def _full_step(self, note: str = "") -> None:
        self.recorder.observe(self.trainer.train_step())
        self._lone_d_steps, self._last_real = 0, None
        if note or self.trainer.step % self.every == 0:
            self._capture(note)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not (self.playing or self.closed):
                    self._lock.wait()
                if self.closed:
                    return
                try:
                    self._full_step()
                except Exception as exc:  # noqa: BLE001 - shown on the page; the server stays up
                    self._fail(exc)
                if self.stop_at is not None and self.trainer.step >= self.stop_at:
                    self.playing, self.stop_at = False, None
                    self.message, self.message_is_error = f"paused at step {self.trainer.step} (--steps)", False
            time.sleep(0)  # let waiting requests take the lock between steps

    # --- what the server calls ----------------------------------------------------------------------------------

    def act(self, action: Any) -> dict[str, Any]:
        """Take one of :data:`ACTIONS`; returns :meth:`state`."""
        if action not in ACTIONS:
            raise SessionError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
        with self._lock:
            if self.closed:
                raise SessionError("the session has ended")
            self.message, self.message_is_error = "", False
            if action == "reset":
                self.playing = False
                self._start()
                self.version += 1
            elif action == "pause":
                self.playing = False
            elif self.diverged:
                raise SessionError("training diverged; press Reset to start again")
            elif action == "play":
                self.playing = True
                self._lock.notify_all()
            else:
                self.playing = False
                self._single(action)
            return self._state()

    def _single(self, action: str) -> None:
        trainer = self.trainer
        try:
            if action == "d_step":
                d = trainer.d_step(trainer.step * trainer.config.n_critic + self._lone_d_steps)
                self._lone_d_steps += 1
                self._last_real = (d.real, d.real_labels)
                loss = float(d.loss)
                self.recorder.observe({"d_loss": loss})
                if not math.isfinite(loss):
                    raise TrainingDiverged(f"training diverged at step {trainer.step}: d_loss={loss}")
                self._capture("D step")
            elif action == "g_step":
                loss = float(trainer.g_step(*(self._last_real or ())).loss)
                self._lone_d_steps, self._last_real = 0, None
                self.recorder.observe({"g_loss": loss})
                if not math.isfinite(loss):
                    raise TrainingDiverged(f"training diverged at step {trainer.step}: g_loss={loss}")
                self._capture("G step")
            else:
                self._full_step("full step")
        except Exception as exc:  # noqa: BLE001 - shown on the page; the server stays up
            self._fail(exc)

    def update(self, changes: Any) -> dict[str, Any]:
        """Change settings between steps: any of ``lr_g``, ``lr_d``, ``loss``, ``n_critic``, ``every``."""
        if not isinstance(changes, dict) or not changes:
            raise SessionError("send the settings to change as a JSON object, e.g. {\"lr_g\": 0.0001}")
        unknown = set(changes) - set(self.settings())
        if unknown:
            raise SessionError(f"unknown setting {sorted(unknown)[0]!r}; use {', '.join(self.settings())}")
        fields: dict[str, Any] = {}
        for name in ("lr_g", "lr_d"):
            if name in changes:
                lr = _number(name, changes[name])
                if not 0 < lr <= MAX_LR:
                    raise SessionError(f"{name} must be above 0 and at most {MAX_LR:g}, got {changes[name]!r}")
                fields[name] = lr
        if "loss" in changes:
            if not isinstance(changes["loss"], str):
                raise SessionError(f"loss must be a registered loss name, got {changes['loss']!r}")
            fields["loss"] = self.registry.loss(changes["loss"]).name  # unknown names: a "did you mean"
        if "n_critic" in changes:
            fields["n_critic"] = _integer("n_critic", changes["n_critic"], MAX_N_CRITIC)
        every = _integer("every", changes["every"], MAX_EVERY) if "every" in changes else None
        with self._lock:
            if self.closed:
                raise SessionError("the session has ended")
            self.config = dataclasses.replace(self.config, **fields)
            trainer = self.trainer
            trainer.config = dataclasses.replace(trainer.config, **fields)
            trainer.loss = self.registry.loss(self.config.loss)
            for optimizer, lr in ((trainer.opt_g, self.config.lr_g), (trainer.opt_d, self.config.lr_d)):
                for group in optimizer.param_groups:
                    group["lr"] = lr
            self.every = every or self.every
            self._settings_changed = True
            self.message, self.message_is_error = "", False
            return self._state()

    def _state(self) -> dict[str, Any]:
        return {"playing": self.playing, "step": self.trainer.step, "settings": self.settings(),
                "message": self.message, "message_is_error": self.message_is_error, "diverged": self.diverged,
                "frames": len(self.recorder.recording.frames)}

    def state(self) -> dict[str, Any]:
        """Whether it is training, the step, the settings and the last message."""
        with self._lock:
            return self._state()

    def frames(self, version: Any, since: Any) -> dict[str, Any]:
        """The frames after the first ``since`` of ``version``, or all of them when the version has changed."""
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise SessionError(f"version must be a non-negative whole number, got {version!r}")
        if isinstance(since, bool) or not isinstance(since, int) or since < 0:
            raise SessionError(f"since must be a non-negative whole number, got {since!r}")
        with self._lock:
            frames = self.recorder.recording.frames
            if version == self.version and since > len(frames):
                raise SessionError(f"since {since} is past the last frame ({len(frames)})")
            start = since if version == self.version else 0
            return {"version": self.version, "frames": [f.as_json() for f in frames[start:]], "live": self._state()}

    def page(self) -> str:
        """The live page: the frames so far, the controls, and the script that polls for more."""
        with self._lock:
            live = {"version": self.version, "settings": self.settings(), "losses": self.registry.names("loss")}
            return render_page([self.recorder.recording], live=live)

    def save(self, path: str | Path) -> Path:
        """Write the lab page of everything watched since the last reset (no live controls) to ``path``."""
        with self._lock:
            return write_page(path, [self.recorder.recording])

    def close(self) -> None:
        """Stop the training thread (after the step it is taking)."""
        with self._lock:
            self.closed, self.playing = True, False
            self._lock.notify_all()
        self._thread.join()
