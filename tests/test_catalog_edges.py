"""Edges of ``ganzoo list`` / ``info`` and of name lookup: empty matches, names in the wrong letter case."""

from __future__ import annotations

import json

import pytest

from ganzoo.cli import main
from ganzoo.errors import UnknownNameError
from ganzoo.plugins import get_plugins
from ganzoo.registry import Registry


@pytest.fixture(scope="module")
def registry() -> Registry:
    return get_plugins().build_registry()


def _cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_a_pattern_matching_nothing_is_an_empty_answer_in_both_forms(capsys):
    assert _cli(capsys, ["list", "zzz*", "--json"]) == (0, "[]\n", "")
    assert _cli(capsys, ["list", "zzz*"]) == (0, "", "no variant matches 'zzz*'\n")


def test_an_uppercase_pattern_suggests_the_lowercase_one(capsys):
    assert _cli(capsys, ["list", "DC*"]) == (0, "", "no variant matches 'DC*'; did you mean 'dc*'?\n")
    code, out, _ = _cli(capsys, ["list", "dc*", "--json"])
    assert code == 0 and [row["name"] for row in json.loads(out)] == ["dcgan"]


def test_info_with_an_uppercase_name_suggests_the_lowercase_one(capsys):
    assert _cli(capsys, ["info", "DCGAN"]) == (2, "", "error: unknown variant 'DCGAN'; did you mean 'dcgan'?\n")


def test_every_kind_suggests_a_name_typed_in_another_case(registry):
    checked = []
    for kind in registry.kinds():
        name = next((n for n in registry.names(kind) if n.upper() != n and n.upper() not in registry.names(kind)),
                    None)
        if name is None:
            continue
        with pytest.raises(UnknownNameError) as info:
            registry.get(kind, name.upper())
        assert str(info.value).startswith(f"unknown {kind} {name.upper()!r}; did you mean {name!r}"), kind
        checked.append(kind)
    assert {"variant", "loss", "dataset", "extractor"} <= set(checked)


def test_a_case_and_spelling_mistake_together_still_finds_the_name(registry):
    with pytest.raises(UnknownNameError, match=r"did you mean 'dcgan'"):
        registry.variant("DCGN")


def test_pretrained_weights_in_another_case_are_suggested(registry):
    with pytest.raises(UnknownNameError, match=r"^unknown pretrained weights 'dcgan/MNIST'; "
                                               r"did you mean 'dcgan/mnist'\? \(dcgan has: mnist\)$"):
        registry.pretrained("dcgan", "MNIST")
    with pytest.raises(UnknownNameError, match=r"^unknown pretrained weights 'dcgan/cifar' \(dcgan has: mnist\)$"):
        registry.pretrained("dcgan", "cifar")  # nothing close: the hint alone, as before


def test_with_plugins_disabled_a_name_differing_only_in_case_is_still_suggested(registry):
    partial = Registry()
    partial.add(registry.variant("dcgan"), "dcgan")
    partial.disabled = ["tiny (ganzoo-tiny)"]
    with pytest.raises(UnknownNameError, match=r"^unknown variant 'DCGAN'; did you mean 'dcgan'\? \(it may come"):
        partial.variant("DCGAN")
    with pytest.raises(UnknownNameError, match=r"^unknown variant 'dcgn' \(it may come from a plugin"):
        partial.variant("dcgn")  # a look-alike is still not offered: the name is most likely the disabled plugin's
