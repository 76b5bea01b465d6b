"""Numbered placeholders for SQL built from optional parts: `p = Params()`, then
`f"... WHERE x = {p(value)}"` adds the value and writes `$n`; run it with `*p.values`."""

from __future__ import annotations

from typing import Any


class Params:
    def __init__(self, *initial: Any) -> None:
        self.values: list[Any] = list(initial)

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"
