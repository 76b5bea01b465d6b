"""Editing a tabular data package's CSV files in tests (as a spreadsheet user would)."""

from __future__ import annotations

import csv
import io


def rewrite_csv(files: dict[str, bytes], name: str, row: int, column: str, value: str) -> None:
    """Set one cell of `name`; `row` counts as a spreadsheet does (the header is row 1)."""
    rows = list(csv.DictReader(io.StringIO(files[name].decode())))
    rows[row - 2][column] = value
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    files[name] = out.getvalue().encode()
