"""The tablet app's source and build, checked without a browser: both languages say the same
things, every message the code asks for exists, the stylesheet closes its blocks, the pure
modules' own tests pass (node), and the built shell stays within its size budget."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bridges_referrals.domain import ConsentScope
from bridges_schema import ReasonCode, ReferralStatus, Role, Urgency

APP = Path(__file__).resolve().parents[1] / "app"
LOCALES = APP / "src" / "locales"
SHELL_BUDGET_BYTES = 150 * 1024  # JavaScript + CSS of the shell, gzipped


def _catalog(language: str) -> dict[str, str]:
    def refuse_duplicates(pairs: list[tuple[str, str]]) -> dict[str, str]:
        keys = [key for key, _ in pairs]
        duplicates = {key for key in keys if keys.count(key) > 1}
        assert not duplicates, f"{language}.json defines {sorted(duplicates)} twice"
        return dict(pairs)

    loaded: dict[str, str] = json.loads(
        (LOCALES / f"{language}.json").read_text(), object_pairs_hook=refuse_duplicates
    )
    return loaded


def _words(text: str) -> str:
    return re.sub(r"\{\w+\}", "", text)


def test_english_and_spanish_have_the_same_messages() -> None:
    english, spanish = _catalog("en"), _catalog("es")
    assert set(english) == set(spanish)
    untranslated = [
        key
        for key, text in english.items()
        if text == spanish[key] and text != "Bridges" and re.search(r"[a-z]{4}", _words(text))
    ]
    assert not untranslated, f"Spanish copies English for {untranslated}"
    for key, text in english.items():  # the same placeholders in both
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", spanish[key]))


def test_every_message_the_code_asks_for_exists() -> None:
    english = _catalog("en")
    prefixes = {key.split(".")[0] for key in english}
    literals: set[str] = set()
    for source in (APP / "src").rglob("*.js"):
        literals |= set(re.findall(r"""["'`]([a-z]+\.[a-z_-]+)["'`]""", source.read_text()))
    keys = {literal for literal in literals if literal.split(".")[0] in prefixes}
    assert len(keys) > 100  # the scan found the code's messages
    assert sorted(keys - set(english)) == []


@pytest.mark.parametrize(
    ("prefix", "values"),
    [
        ("status", [s.value for s in ReferralStatus]),
        ("reason", [r.value for r in ReasonCode]),
        ("urgency", [u.value for u in Urgency]),
        ("scope", [s.value for s in ConsentScope]),
        ("role", [r.value for r in Role]),
    ],
)
def test_every_value_the_api_can_send_has_a_label(prefix: str, values: list[str]) -> None:
    english = _catalog("en")
    assert [v for v in values if f"{prefix}.{v}" not in english] == []


@pytest.mark.integration  # node, as `make test` installs it
def test_the_apps_own_node_tests_pass() -> None:
    """`npm test`: the pure modules, and storage, outbox and vault over fake-indexeddb."""
    npm = shutil.which("npm")
    assert npm, "npm is needed for the app (Node.js 20)"
    done = subprocess.run(
        [npm, "test", "--silent"], cwd=APP, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"# fail 0", done.stdout), done.stdout[-1000:]


def test_the_shell_is_within_its_size_budget() -> None:
    dist = APP / "dist"
    assert (dist / "index.html").exists(), "build the app first: make app"
    shell = [p for p in dist.rglob("*") if p.suffix in {".js", ".css"} and p.name != "sw.js"]
    assert shell, "the build holds no JavaScript or CSS"
    gzipped = sum(len(gzip.compress(p.read_bytes(), 9)) for p in shell)
    assert gzipped <= SHELL_BUDGET_BYTES, f"{gzipped} bytes gzipped > {SHELL_BUDGET_BYTES}"


def test_the_service_worker_precaches_exactly_the_built_shell() -> None:
    dist = APP / "dist"
    worker = (dist / "sw.js").read_text()
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", worker, re.S).group(1))  # type: ignore[union-attr]
    built = sorted(
        str(p.relative_to(dist)) for p in dist.rglob("*") if p.is_file() and p.name != "sw.js"
    )
    assert sorted(shell) == built
    assert re.search(r'const VERSION = "[0-9a-f]{16}"', worker)
    assert "config.json" not in shell  # nothing served per deployment (or per person) is cached


def test_the_stylesheet_closes_every_block_it_opens():
    """A block left open (a merge can drop its `}`) silently moves every rule after it into
    that block: a `@media (max-width: …)` one then styles those screens on phones only."""
    css = re.sub(r"/\*.*?\*/", "", (APP / "src" / "styles.css").read_text(), flags=re.S)
    depth = 0
    for number, line in enumerate(css.splitlines(), 1):
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"styles.css:{number} closes a block never opened"
    assert depth == 0, "styles.css leaves a block open"
