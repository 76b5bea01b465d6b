"""Write (or check) JSON Schema for every event and the AsyncAPI 3.0 document under docs/.

    python -m bridges_schema.docgen [--docs DIR] [--check]

`--check` fails when the committed files differ from the models, and explains whether the
change is compatible (an optional field added) or needs a new event version.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bridges_schema.envelope import EventSpec
from bridges_schema.events import ALL_EVENTS, WEBHOOK_ONLY_EVENTS
from bridges_schema.subjects import DEFAULT_NAMESPACE, Streams

_IGNORED_KEYS = frozenset({"description", "title", "examples"})


def event_schema(spec: EventSpec[Any]) -> dict[str, Any]:
    schema = spec.envelope_model().model_json_schema(mode="serialization")
    schema["$id"] = spec.dataschema
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = spec.type
    schema["description"] = spec.summary
    schema["properties"]["type"]["const"] = spec.type
    return schema


def asyncapi_document(namespace: str = DEFAULT_NAMESPACE) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in ALL_EVENTS:
        key = spec.type.replace(".", "_").replace("-", "_")
        messages[key] = {
            "name": spec.type,
            "title": spec.type,
            "summary": spec.summary,
            "contentType": "application/cloudevents+json",
            "headers": {
                "type": "object",
                "properties": {"Nats-Msg-Id": {"type": "string", "description": "= event id"}},
            },
            "payload": {"$ref": f"events/{spec.type}.json"},
        }
        channels[key] = {
            "address": spec.subject(namespace),
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "description": f"JetStream stream {Streams(namespace).stream(spec.domain).name}",
        }
        operations[f"publish_{key}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": spec.summary,
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Bridges events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 (structured JSON) exchanged over NATS JetStream. "
            "No personal data travels on the bus.",
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {"nats": {"host": "nats:4222", "protocol": "nats"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render(namespace: str = DEFAULT_NAMESPACE) -> dict[str, str]:
    """Relative path -> file text, for every generated document."""
    files = {
        f"events/{spec.type}.json": _dump(event_schema(spec))
        for spec in (*ALL_EVENTS, *WEBHOOK_ONLY_EVENTS)
    }
    files["asyncapi.json"] = _dump(asyncapi_document(namespace))
    return files


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    """Inline local `$ref`s so two schemas compare by meaning, not by layout."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _resolve(defs[ref.rsplit("/", 1)[-1]], defs)
        return {k: _resolve(v, defs) for k, v in node.items() if k not in _IGNORED_KEYS}
    if isinstance(node, list):
        return [_resolve(v, defs) for v in node]
    return node


def incompatibilities(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Why `new` cannot replace `old` under the same event version (empty list: compatible)."""
    old_data = _resolve(old["properties"]["data"], old.get("$defs", {}))
    new_data = _resolve(new["properties"]["data"], new.get("$defs", {}))
    problems: list[str] = []
    old_props: dict[str, Any] = old_data.get("properties", {})
    new_props: dict[str, Any] = new_data.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"field {name!r} removed")
        elif old_prop != new_props[name]:
            problems.append(f"field {name!r} changed its schema")
    for name in sorted(set(new_data.get("required", [])) - set(old_data.get("required", []))):
        problems.append(f"field {name!r} became required")
    return problems


def check(docs: Path) -> list[str]:
    """Differences between the committed docs and the models, each explained."""
    problems: list[str] = []
    expected = render()
    for rel, text in expected.items():
        path = docs / rel
        if not path.exists():
            problems.append(f"{rel}: missing (run `make docs`)")
            continue
        committed = path.read_text(encoding="utf-8")
        if committed == text:
            continue
        if rel.startswith("events/"):
            breaking = incompatibilities(json.loads(committed), json.loads(text))
            if breaking:
                problems.append(
                    f"{rel}: INCOMPATIBLE change without a version bump: {'; '.join(breaking)}"
                )
                continue
        problems.append(f"{rel}: out of date (run `make docs`)")
    for path in sorted((docs / "events").glob("*.json")):
        if f"events/{path.name}" not in expected:
            problems.append(f"events/{path.name}: no model produces it any more")
    return problems


def write(docs: Path) -> None:
    for rel, text in render().items():
        path = docs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--docs", type=Path, default=Path("docs"))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.docs)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    write(args.docs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
