"""pytest support for plugin authors: the whole variant contract in one line.

In any test module::

    from ganzoo.testing import contract_tests

    test_my_variant_contract = contract_tests("my-variant")

generates one test per (shape, check): ``test_my_variant_contract[my-variant-32px-3ch-gradients]`` and so on. That
needs no plugin registration. Loading this module as a pytest plugin, with ``pytest_plugins =
["ganzoo.testing.pytest_plugin"]`` in a ``conftest.py``, also provides two fixtures:

- ``ganzoo_registry``: a registry freshly built from the installed plugins, honouring ``GANZOO_DISABLE_PLUGINS`` and
  ``GANZOO_PLUGINS`` as set when the fixture runs (the process-wide cache is reset before and after);
- ``ganzoo_check``: :func:`ganzoo.testing.check_variant`, bound to that registry.

ganzoo deliberately declares no ``pytest11`` entry point for this module: importing ganzoo imports torch, which
would slow down every pytest session in an environment where ganzoo is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ganzoo.registry import Registry
    from ganzoo.specs import VariantSpec


def contract_tests(variant: str | VariantSpec = "*", *, checks: Iterable[str] | None = None,
                   registry: Registry | Callable[[], Registry] | None = None) -> Callable[..., None]:
    """A pytest test function parametrised over every contract case and check of ``variant``.

    ``variant`` is a registered name, a glob (``"*"``: every registered variant) or a :class:`ganzoo.VariantSpec`
    that need not be registered (its loss must be). ``checks`` picks a subset of
    :data:`ganzoo.testing.CHECKS` by name. ``registry`` (or a callable returning one) replaces the installed
    plugins' registry. Assign the result to a module-level name starting with ``test``.
    """
    from ganzoo.testing.contract import CHECKS, contract_cases

    chosen = list(CHECKS) if checks is None else list(checks)
    unknown = sorted(set(chosen) - set(CHECKS))
    if unknown:
        raise ValueError(f"unknown contract checks {unknown}; known: {', '.join(CHECKS)}")
    resolved = registry() if callable(registry) else registry
    params = [pytest.param(case, name, id=f"{case.id}-{name}")
              for case in contract_cases(variant, resolved) for name in chosen]
    target = variant

    @pytest.mark.parametrize(("case", "check"), params)
    def test_ganzoo_contract(case: Any, check: str) -> None:
        CHECKS[check](target if not isinstance(target, str) else case.variant, registry=resolved,
                      **case.kwargs())

    return test_ganzoo_contract


@pytest.fixture
def ganzoo_registry() -> Iterator[Registry]:
    """A registry built from the installed plugins for this test alone."""
    from ganzoo.plugins import get_registry, reset

    reset()
    try:
        yield get_registry()
    finally:
        reset()


@pytest.fixture
def ganzoo_check(ganzoo_registry: Registry) -> Callable[..., None]:
    """``ganzoo_check("my-variant", image_size=32, channels=3)`` runs the whole contract on that shape."""
    from functools import partial

    from ganzoo.testing.contract import check_variant

    return partial(check_variant, registry=ganzoo_registry)
