import pytest

from credit_recovery.shared.options import resolve_options


def test_merges_over_defaults():
    assert resolve_options("s", {"a": 1, "b": "x"}, {"b": ("x", "y")}, {"b": "y"}) == {"a": 1, "b": "y"}


def test_unknown_key_lists_allowed_keys():
    with pytest.raises(ValueError, match=r"unknown s option 'c'; allowed options are \['a', 'b'\]"):
        resolve_options("s", {"a": 1, "b": "x"}, {}, {"c": 2})


def test_bad_value_lists_allowed_values():
    with pytest.raises(ValueError, match=r"s.b='z' is not allowed; allowed values are \['x', 'y'\]"):
        resolve_options("s", {"a": 1, "b": "x"}, {"b": ("x", "y")}, {"b": "z"})
