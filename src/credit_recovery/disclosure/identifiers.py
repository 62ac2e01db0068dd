"""Confidential identifier values and how the scanner finds them in public text.

:class:`IdentifierIndex` holds the values of the input tables' identifier
columns (``student_id``, ``course_record_id``, ``mentor_id``) and finds them as
whole tokens in any text; :func:`masked` is how a finding names a value without
printing it. Used by :mod:`credit_recovery.disclosure.scanner`.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = ["IDENTIFIER_HEADERS", "IdentifierIndex", "IdentifierSource", "as_identifier_index", "masked"]

#: Normalised column headers that name an identifier column (no public table may have one).
IDENTIFIER_HEADERS: frozenset[str] = frozenset(
    {"student_id", "course_record_id", "mentor_id", "recovers_record_id", "event_id", "failed_record_id"}
)


class IdentifierIndex:
    """Set of confidential identifier values, prepared for whole-token matching.

    Parameters
    ----------
    identifiers : mapping or iterable
        ``{column_name: values}`` (each values an iterable or Series; the
        column name labels the findings) or a plain iterable of values.
        Missing and empty values are skipped.
    case_sensitive : bool
        Match case exactly; by default matching ignores case (conservative).

    Notes
    -----
    A file is split into tokens (maximal runs of word characters and of any
    other characters that occur inside identifiers) and the token set is
    intersected with the identifier set, so a scan costs one pass over the
    text plus a set intersection, whatever the number of identifiers. Tokens
    with the extra characters trimmed from their ends and plain ``\\w+``
    tokens are tried as well.
    """

    def __init__(self, identifiers: Mapping[str, Iterable[Any]] | Iterable[Any], *, case_sensitive: bool = False):
        if isinstance(identifiers, (str, bytes)):
            raise TypeError("identifiers must be a collection of values, not a single string")
        self.case_sensitive = case_sensitive
        source = identifiers.items() if isinstance(identifiers, Mapping) else [("identifier", identifiers)]
        lookup: dict[str, str] = {}
        for label, vals in source:
            seq = vals.tolist() if isinstance(vals, (pd.Series, pd.Index, np.ndarray)) else vals
            strings = [str(v).strip() for v in seq
                       if not (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)))]
            for s in strings:
                if s:
                    lookup.setdefault(s if case_sensitive else s.casefold(), str(label))
        extra = {ch for ch in set("".join(lookup)) if not (ch.isalnum() or ch == "_")}
        self._lookup = lookup
        self._extra = "".join(sorted(extra))
        chars = re.escape(self._extra)
        self._token = re.compile(rf"[\w{chars}]+") if extra else re.compile(r"\w+")
        self._plain = re.compile(r"\w+")

    def __len__(self) -> int:
        return len(self._lookup)

    def _norm(self, s: str) -> str:
        return s if self.case_sensitive else s.casefold()

    def find(self, text: str) -> list[tuple[str, str, int]]:
        """Identifiers occurring as whole tokens in ``text``.

        Returns
        -------
        list of (label, value, position)
            One entry per distinct identifier (first occurrence), sorted by
            position.
        """
        if not self._lookup or not text:
            return []
        norm = self._norm(text)
        tokens = set(self._token.findall(norm))
        if self._extra:
            tokens |= {t.strip(self._extra) for t in tokens}
            tokens |= set(self._plain.findall(norm))
        hits = tokens.intersection(self._lookup)
        out = []
        for h in hits:
            m = re.search(rf"(?<![\w{re.escape(self._extra)}]){re.escape(h)}(?![\w{re.escape(self._extra)}])", norm) \
                if self._extra else re.search(rf"(?<!\w){re.escape(h)}(?!\w)", norm)
            if m is None:  # matched only after trimming separators
                m = re.search(re.escape(h), norm)
            out.append((self._lookup[h], h, m.start() if m else 0))
        return sorted(out, key=lambda t: (t[2], t[1]))


#: What the scanning functions accept as identifiers: an index, ``{column: values}`` or plain values.
IdentifierSource = IdentifierIndex | Mapping[str, Iterable[Any]] | Iterable[Any] | None


def as_identifier_index(identifiers: IdentifierSource) -> IdentifierIndex:
    """``identifiers`` as an :class:`IdentifierIndex` (built once; an index is returned as is)."""
    if isinstance(identifiers, IdentifierIndex):
        return identifiers
    return IdentifierIndex(identifiers if identifiers is not None else [])


def masked(value: str) -> str:
    """How a finding names an identifier value: ``sha256:`` and the first 12 hex digits of its SHA-256."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]
