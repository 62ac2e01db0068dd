"""The fixest-style formula ``y ~ x1 + x2 | fe1 + fe2^fe3`` and the validation of string options."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

__all__ = ["FixedEffectsFormula", "parse_formula", "check_option"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def check_option(name: str, value: Any, allowed: Sequence[str]) -> str:
    """The one place where string options are validated (lower-cased; the message lists the allowed values)."""
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; allowed values are {list(allowed)}")
    return value.lower()


@dataclass(frozen=True)
class FixedEffectsFormula:
    """A parsed ``y ~ x1 + x2 | fe1 + fe2^fe3`` formula.

    Attributes
    ----------
    outcome : str
    regressors : tuple of str
        Column names of the regressors, in formula order.
    fixed_effects : tuple of tuple of str
        One tuple per fixed effect; a tuple of several columns (``a^b``) means
        one effect per observed combination.
    """

    outcome: str
    regressors: tuple[str, ...]
    fixed_effects: tuple[tuple[str, ...], ...] = ()

    @property
    def intercept(self) -> bool:
        """An intercept is estimated only when there are no fixed effects."""
        return not self.fixed_effects

    @property
    def fe_label(self) -> str:
        """Fixed effects as written in the formula (``"none"`` without any)."""
        if not self.fixed_effects:
            return "none"
        return " + ".join("^".join(t) for t in self.fixed_effects)

    @property
    def columns(self) -> list[str]:
        """Every data column the formula uses (outcome, regressors, fixed-effect columns), once each."""
        cols = [self.outcome, *self.regressors, *(c for t in self.fixed_effects for c in t)]
        return list(dict.fromkeys(cols))


def parse_formula(formula: str) -> FixedEffectsFormula:
    """Parse a fixest-style formula ``y ~ x1 + x2 | fe1 + fe2^fe3``.

    Parameters
    ----------
    formula : str
        ``outcome ~ regressors [| fixed effects]``. Regressors and fixed
        effects are column names joined by ``+``; ``a^b`` after the bar is one
        fixed effect per combination of ``a`` and ``b``. Without a bar the
        model has an intercept and no fixed effects; with a bar the intercept
        is absorbed by the fixed effects and not reported. Transformations
        (``log(x)``, ``C(x)``, ``x1:x2``) are not part of the grammar: create
        the column first.

    Returns
    -------
    FixedEffectsFormula

    Raises
    ------
    ValueError
        If the formula does not follow the grammar.
    """
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise ValueError(f"formula must be 'y ~ x1 + x2 | fe1 + fe2'; got {formula!r}")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    if rhs.count("|") > 1:
        raise ValueError(f"formula has more than one '|': {formula!r}")
    reg_part, _, fe_part = rhs.partition("|")

    def names(part: str, what: str) -> list[str]:
        out = [t.strip() for t in part.split("+")]
        bad = [t for t in out if not _NAME.match(t)]
        if bad:
            raise ValueError(
                f"{what} {bad} in formula {formula!r} are not column names; the grammar is "
                "'y ~ x1 + x2 | fe1 + fe2^fe3' with plain column names"
            )
        return out

    if not _NAME.match(lhs):
        raise ValueError(f"outcome {lhs!r} in formula {formula!r} is not a column name")
    regressors = names(reg_part, "regressors")
    if len(set(regressors)) != len(regressors):
        raise ValueError(f"duplicated regressor in formula {formula!r}")
    fixed: list[tuple[str, ...]] = []
    if "|" in rhs:
        names(fe_part.replace("^", "+"), "fixed effects")  # validates every column name
        for term in fe_part.split("+"):
            fixed.append(tuple(c.strip() for c in term.split("^")))
        if len(set(fixed)) != len(fixed):
            raise ValueError(f"duplicated fixed effect in formula {formula!r}")
    if lhs in regressors:
        raise ValueError(f"outcome {lhs!r} is also a regressor in {formula!r}")
    return FixedEffectsFormula(lhs, tuple(regressors), tuple(fixed))
