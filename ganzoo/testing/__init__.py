"""Tools for testing ganzoo variants, for ganzoo's own suite and for plugin authors.

``check_variant("my-variant")`` runs the whole contract and raises ``AssertionError`` on the first break; the
``check_*`` functions run one check each; ``contract_cases`` lists the shapes a variant claims to support.
``contract_tests("my-variant")`` (needs pytest) returns a parametrised pytest test of all of it.
"""

from __future__ import annotations

from typing import Any

from ganzoo.testing.contract import (
    CHECKS,
    ContractCase,
    check_checkpoint_roundtrip,
    check_determinism,
    check_gradients,
    check_labels,
    check_shapes,
    check_spec,
    check_train_step,
    check_variant,
    contract_cases,
)

__all__ = [
    "CHECKS", "ContractCase", "check_checkpoint_roundtrip", "check_determinism", "check_gradients", "check_labels",
    "check_shapes", "check_spec", "check_train_step", "check_variant", "contract_cases", "contract_tests",
]


def contract_tests(*args: Any, **kwargs: Any) -> Any:
    """See :func:`ganzoo.testing.pytest_plugin.contract_tests` (imported lazily so pytest stays optional)."""
    from ganzoo.testing.pytest_plugin import contract_tests as make

    return make(*args, **kwargs)
