"""Building a variant's networks from the registry."""

from __future__ import annotations

from typing import Any

from ganzoo.errors import ConfigError
from ganzoo.interfaces import Discriminator, Generator
from ganzoo.registry import Registry, VariantSpec


def data_shape_for(spec: VariantSpec, image_size: int | None, channels: int | None,
                   data_shape: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """The sample shape to build ``spec``'s networks for, checked against what the variant supports."""
    if data_shape is not None:
        return tuple(int(s) for s in data_shape)
    size = image_size or spec.defaults.image_size
    chans = channels or spec.channels[0]
    if size not in spec.image_sizes:
        raise ConfigError(f"variant {spec.name!r} does not support image size {size}; "
                          f"supported: {', '.join(map(str, spec.image_sizes))}")
    if chans not in spec.channels:
        raise ConfigError(f"variant {spec.name!r} does not support {chans} channels; "
                          f"supported: {', '.join(map(str, spec.channels))}")
    return (chans, size, size)


def build(spec: VariantSpec, data_shape: tuple[int, ...], z_dim: int | None = None,
          **options: Any) -> tuple[Generator, Discriminator]:
    """Instantiate and check both networks of ``spec``."""
    z = z_dim or spec.defaults.z_dim
    try:
        generator = spec.generator(z_dim=z, data_shape=data_shape, **options)
        discriminator = spec.discriminator(data_shape=data_shape, **options)
    except TypeError as exc:
        raise ConfigError(f"variant {spec.name!r} cannot be built with these options: {exc}") from exc
    if not isinstance(generator, Generator) or not isinstance(discriminator, Discriminator):
        raise ConfigError(f"variant {spec.name!r} must build a ganzoo.Generator and a ganzoo.Discriminator")
    return generator, discriminator


def create(name: str, image_size: int | None = None, channels: int | None = None, z_dim: int | None = None,
           data_shape: tuple[int, ...] | None = None, registry: Registry | None = None,
           **options: Any) -> tuple[Generator, Discriminator]:
    """Build the generator and discriminator of variant ``name``.

    ``image_size`` / ``channels`` select the image shape (defaults: the variant's); pass ``data_shape=(2,)`` for
    point data. Extra keyword options go to the variant's network builders (e.g. ``width=32`` for dcgan).
    """
    from ganzoo.plugins import get_registry

    spec = (registry or get_registry()).variant(name)
    return build(spec, data_shape_for(spec, image_size, channels, data_shape), z_dim, **options)
