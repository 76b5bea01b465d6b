"""Every test the docs cite exists: a path like `tests/test_x.py` or
`services/referrals/tests/test_y.py` (globs allowed: `services/*/tests/...`) names at least one
file, and `path::test_name` names a test function in it. A control in docs/security.md that
points at a test nobody can run proves nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CITED = re.compile(
    r"(?<![\w/*.-])((?:(?:kit|shared|devstack|services/[\w*]+)/)?tests/[\w*/]+\.py)(?:::(\w+))?"
)


def citations() -> list[tuple[str, str, str | None]]:
    found = []
    for doc in DOCS:
        for match in CITED.finditer(doc.read_text()):
            found.append((doc.name, match.group(1), match.group(2)))
    return sorted(set(found), key=lambda c: (c[0], c[1], c[2] or ""))


def test_the_docs_cite_tests_at_all():
    assert any(doc == "security.md" for doc, _, _ in citations())


@pytest.mark.parametrize(("doc", "path", "test"), citations())
def test_a_cited_test_exists(doc, path, test):
    files = sorted(ROOT.glob(path))
    assert files, f"{doc} cites {path}, which does not exist"
    if test is not None:
        defined = re.compile(rf"^\s*(?:async\s+)?def {re.escape(test)}\(", re.MULTILINE)
        assert any(defined.search(f.read_text()) for f in files), (
            f"{doc} cites {path}::{test}, which has no such test"
        )


NAMED = re.compile(r"`(test_\w+)`")
TEST_FILES = [
    p
    for p in ROOT.glob("**/tests/**/test_*.py")
    if not {".venv", "node_modules"} & set(p.relative_to(ROOT).parts)
]


def named() -> list[tuple[str, str]]:
    return sorted({(d.name, m.group(1)) for d in DOCS for m in NAMED.finditer(d.read_text())})


@pytest.mark.parametrize(("doc", "test"), named())
def test_a_test_named_alone_exists_somewhere(doc, test):
    defined = re.compile(rf"^\s*(?:async\s+)?def {re.escape(test)}\(", re.MULTILINE)
    assert any(defined.search(f.read_text()) for f in TEST_FILES), f"{doc} names {test}: none"
