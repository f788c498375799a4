"""``ganzoo lab``: GAN Lab's views (Kahng et al. 2018) of any variant that trains on 2-D points, recorded into a
self-contained page (:func:`record`, :func:`write_page`) or watched live (:mod:`ganzoo.lab.server`)."""

from ganzoo.lab.page import render_page, write_page
from ganzoo.lab.recording import Frame, Recorder, Recording, default_every, record

__all__ = ["Frame", "Recorder", "Recording", "default_every", "record", "render_page", "write_page"]
