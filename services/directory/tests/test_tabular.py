"""The HSDS tabular data package over real HTTP and PostgreSQL: the demo county exported as CSV
files that `frictionless validate` accepts, imported into another directory (dry run first)
and exported again the same; and an import's errors named by file, row and column."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
import zipfile
from pathlib import Path

from bridges_directory import tabular
from bridges_directory.seed import demo_county
from bridges_schema import Role

ZIP = "application/zip"


def _frictionless() -> str:
    return str(Path(sys.executable).parent / "frictionless")


async def _post(directory, infra, body: bytes, *, dry_run: bool = False):
    async with directory.client(infra.token(Role.ADMIN)) as c:
        return await c.post(
            "/import",
            content=body,
            headers={"content-type": ZIP},
            params={"dry_run": "true"} if dry_run else None,
        )


async def test_tabular_round_trip_validates_and_imports_the_same_data(
    directory, infra, make_directory, tmp_path
):
    dataset = demo_county.build()
    closure = {
        "id": "9d3f6c1e-4a57-4b0e-9a43-0c2f3f3b7a01",
        "valid_from": "2026-12-24",
        "valid_to": "2026-12-26",
        "description": "Closed for the holidays",
        "x_bridges": {"closed": True},
    }
    dataset["services"][0]["schedules"].append(closure)
    async with directory.client(infra.token(Role.ADMIN)) as c:
        assert (await c.post("/import", content=json.dumps(dataset))).status_code == 200
        first = (await c.get("/export")).json()
        package = await c.get("/export", params={"format": "tabular"})
    assert package.status_code == 200 and package.headers["content-type"] == ZIP
    with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
        archive.extractall(tmp_path)
        names = set(archive.namelist())
    assert len(names) == 23  # the 21 HSDS resources, Bridges' x_bridges and datapackage.json
    validator = await asyncio.create_subprocess_exec(
        _frictionless(),
        "validate",
        "--json",
        str(tmp_path / "datapackage.json"),
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(validator.communicate(), timeout=300)
    report = json.loads(stdout)
    assert report["valid"], json.dumps(report)[:3000]

    other = await make_directory("tabular")
    dry = await _post(other, infra, package.content, dry_run=True)
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] and dry.json()["created"] == len(first["services"])
    async with other.client() as c:
        assert (await c.get("/export")).json()["services"] == []  # the dry run wrote nothing
    imported = await _post(other, infra, package.content)
    assert imported.status_code == 200, imported.text
    async with other.client() as c:
        second = (await c.get("/export")).json()
        again = await c.get("/export", params={"format": "tabular"})
    assert [s["id"] for s in second["services"]] == [s["id"] for s in first["services"]]
    kept = next(s for s in second["services"] if s["id"] == dataset["services"][0]["id"])
    assert closure in kept["schedules"]  # a closure keeps its x_bridges through the CSV files
    # the same data: every CSV file the same, row for row (JSON may describe one organization
    # differently in two services; a table holds it once)
    assert _files(again.content) == _files(package.content)


def _files(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def _rewrite(files: dict[str, bytes], name: str, row: int, column: str, value: str) -> None:
    rows = list(csv.DictReader(io.StringIO(files[name].decode())))
    rows[row - 2][column] = value  # the header is row 1
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    files[name] = out.getvalue().encode()


async def test_import_errors_name_file_row_and_column_and_nothing_is_written(directory, infra):
    files = tabular.write(demo_county.build())
    _rewrite(files, "services.csv", 4, "status", "open")
    _rewrite(files, "services.csv", 6, "minimum_age", "three")
    _rewrite(files, "organizations.csv", 2, "name", "")
    response = await _post(directory, infra, tabular.zipped(files))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "path": "services.csv row 6 column minimum_age",
            "message": "not a number: 'three'",
        }
    ]
    _rewrite(files, "services.csv", 6, "minimum_age", "3")
    response = await _post(directory, infra, tabular.zipped(files), dry_run=True)
    assert response.status_code == 422
    located = {(e.get("file"), e.get("row"), e.get("column")) for e in response.json()["errors"]}
    assert ("services.csv", 4, "status") in located
    assert any(f == "organizations.csv" and r == 2 and c == "name" for f, r, c in located)
    assert await directory.runtime.pool.fetchval("SELECT count(*) FROM service") == 0


async def test_public_reads_follow_the_oruk_rules_any_origin_and_no_nulls(seeded):
    origin = {"Origin": "https://someones-site.example"}
    async with seeded.client() as c:
        root = await c.get("/", headers=origin)
        page = await c.get("/services", params={"per_page": 5}, headers=origin)
        one = await c.get(f"/services/{page.json()['contents'][0]['id']}", headers=origin)
    for answer in (root, page, one):
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "null" not in answer.text  # empty optional fields are omitted, not null
    assert {"total_items", "total_pages", "page_number", "size", "contents"} <= set(page.json())
    async with seeded.client() as c:
        refused = await c.post("/import", content=b"{}")
    assert refused.headers.get("access-control-allow-origin") != "*"  # writes are not open
