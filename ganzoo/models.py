"""Building a variant's networks from the registry."""

from __future__ import annotations

import difflib
import inspect
import json
from collections.abc import Mapping
from typing import Any

from ganzoo.errors import ConfigError
from ganzoo.interfaces import Discriminator, Generator
from ganzoo.registry import Registry
from ganzoo.specs import VariantSpec


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


def build(spec: VariantSpec, data_shape: tuple[int, ...], z_dim: int | None = None, num_classes: int = 0,
          **options: Any) -> tuple[Generator, Discriminator]:
    """Instantiate and check both networks of ``spec`` (for ``num_classes`` classes when it is conditional)."""
    z = z_dim or spec.defaults.z_dim
    if spec.conditional:
        if num_classes < 1:
            raise ConfigError(f"variant {spec.name!r} is class-conditional: give num_classes (the dataset's class "
                              "count)")
        options = {**options, "num_classes": num_classes}
    elif num_classes:
        raise ConfigError(f"variant {spec.name!r} is unconditional: it takes no classes")
    for builder in (spec.generator, spec.discriminator):
        _check_option_types(spec.name, builder, options)
    try:
        generator = spec.generator(z_dim=z, data_shape=data_shape, **options)
        discriminator = spec.discriminator(data_shape=data_shape, **options)
    except (TypeError, ValueError) as exc:  # a builder refusing an option or a value
        unknown = unknown_option(spec, options)
        if unknown is not None:
            raise unknown from exc
        raise ConfigError(f"variant {spec.name!r} cannot be built with these options: {exc}") from exc
    if not isinstance(generator, Generator) or not isinstance(discriminator, Discriminator):
        raise ConfigError(f"variant {spec.name!r} must build a ganzoo.Generator and a ganzoo.Discriminator")
    if generator.num_classes != num_classes or discriminator.num_classes != num_classes:
        raise ConfigError(f"variant {spec.name!r} built networks for {generator.num_classes} / "
                          f"{discriminator.num_classes} classes, not {num_classes}")
    return generator, discriminator


def unknown_option(spec: VariantSpec, options: Mapping[str, Any]) -> ConfigError | None:
    """The error for the first of ``options`` that neither of ``spec``'s network builders takes (with the nearest
    name), or None when all are known or a builder takes any keyword."""
    known = network_options(spec)
    unknown = sorted(set(options) - known - {"num_classes"}) if known is not None else []
    if not unknown:
        return None
    close = difflib.get_close_matches(unknown[0], sorted(known), n=1, cutoff=0.75)
    advice = f"did you mean {close[0]!r}?" if close else f"its options: {', '.join(sorted(known)) or 'none'}"
    return ConfigError(f"variant {spec.name!r} has no network option {unknown[0]!r}; {advice}")


_SIMPLE_TYPES: dict[str, type] = {"int": int, "float": float, "bool": bool, "str": str, "None": type(None)}
_TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string", type(None): "null"}


def _declared_types(parameter: inspect.Parameter) -> tuple[type, ...] | None:
    """The types a parameter's annotation admits when it is made of int, float, bool, str and None only
    (``int | None``); else None, and the value goes unchecked."""
    annotation = parameter.annotation
    if isinstance(annotation, str):  # postponed annotations: "int | None"
        names = [name.strip() for name in annotation.split("|")]
        return tuple(_SIMPLE_TYPES[n] for n in names) if all(n in _SIMPLE_TYPES for n in names) else None
    members = getattr(annotation, "__args__", (annotation,))
    members = tuple(type(None) if m is None else m for m in members)
    return members if all(m in _TYPE_WORDS for m in members) else None


def _fits(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):  # bool is an int to Python, not to a user who typed true
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, types)


def _check_option_types(variant: str, builder: Any, options: dict[str, Any]) -> None:
    """Refuse an option whose value does not match the builder's annotation (``output_bias="false"`` would
    otherwise build the bias it names, a string being true)."""
    try:
        parameters = inspect.signature(builder).parameters
    except (TypeError, ValueError):
        return
    for key, value in options.items():
        types = _declared_types(parameters[key]) if key in parameters else None
        if types is not None and not _fits(value, types):
            expected = " or ".join(_TYPE_WORDS[t] for t in types)
            raise ConfigError(f"variant {variant!r}: network option {key!r} takes {expected}, "
                              f"got {json.dumps(value)}")


_SHAPE_PARAMETERS = ("z_dim", "data_shape", "num_classes")  # set by ganzoo, not network options


def network_options(spec: VariantSpec) -> set[str] | None:
    """The keyword options the variant's two network builders take (beyond the shapes and classes), or None when
    a builder takes arbitrary ``**kwargs`` and so does not say."""
    defaults = network_option_defaults(spec)
    return None if defaults is None else set(defaults)


def network_option_defaults(spec: VariantSpec) -> dict[str, Any] | None:
    """Each network option with the value a default run builds with: the variant's (``spec.defaults.network``),
    else the builder's own (G's where both declare one; None where neither does). None when a builder takes
    arbitrary ``**kwargs``."""
    own: dict[str, Any] = {}
    for builder in (spec.discriminator, spec.generator):  # G last, so its default wins
        try:
            parameters = inspect.signature(builder).parameters.values()
        except (TypeError, ValueError):
            return None
        for p in parameters:
            if p.kind is p.VAR_KEYWORD:
                return None
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in _SHAPE_PARAMETERS:
                own[p.name] = own.get(p.name) if p.default is p.empty else p.default
    return {name: spec.defaults.network.get(name, default) for name, default in own.items()}


def create(name: str, image_size: int | None = None, channels: int | None = None, z_dim: int | None = None,
           data_shape: tuple[int, ...] | None = None, registry: Registry | None = None, num_classes: int | None = None,
           pretrained: str | None = None, **options: Any) -> tuple[Generator, Discriminator]:
    """Build the generator and discriminator of variant ``name``.

    ``image_size`` / ``channels`` select the image shape (defaults: the variant's); pass ``data_shape=(2,)`` for
    point data. A conditional variant is built for ``num_classes`` classes (default: its default dataset's). Keyword
    options go to the variant's network builders on top of its default ones (``spec.defaults.network``), e.g.
    ``width=32`` for dcgan.

    ``pretrained="mnist"`` returns the variant's registered trained weights instead (``ganzoo list`` shows which
    exist), built exactly as they were trained: the generator with the EMA weights (the ones to sample from) and
    the discriminator, in eval mode. Shape arguments and options do not apply then.
    """
    from ganzoo.plugins import get_registry

    registry = registry or get_registry()
    if pretrained is not None:
        if any(v is not None for v in (image_size, channels, z_dim, data_shape, num_classes)) or options:
            raise ConfigError("pretrained weights come with their own shapes and options: give only the name")
        from ganzoo.api import load

        run = load(f"pretrained:{name}/{pretrained}", registry=registry)
        return run.sampler, run.discriminator
    spec = registry.variant(name)
    if num_classes is None:
        num_classes = default_classes(spec, registry)
    shape = data_shape_for(spec, image_size, channels, data_shape)
    if len(shape) == 3:  # the variant's default network options are for its image networks
        options = {**spec.defaults.network, **options}
    return build(spec, shape, z_dim, num_classes, **options)


def default_classes(spec: VariantSpec, registry: Registry) -> int:
    """The class count a conditional variant is built for when none is given: its default dataset's (0 when the
    variant is unconditional)."""
    if not spec.conditional:
        return 0
    dataset = spec.defaults.dataset.split(":", 1)[0]
    classes = registry.dataset(dataset).num_classes if dataset in registry.names("dataset") else 0
    if classes < 1:
        raise ConfigError(f"variant {spec.name!r} is class-conditional; its default dataset {dataset!r} declares no "
                          "classes, so give num_classes")
    return classes
