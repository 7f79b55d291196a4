"""Regenerate ``botsim/botapi_methods.json`` from a Bot API spec dump.

The loopback simulator (``botsim/``) validates every request against
the official method signatures, but the project must not depend on the large
upstream spec file at run time.  This script keeps only what validation needs
(method -> field -> types/required) so the packaged JSON stays small and its
diff stays reviewable when the Bot API version changes.

Usage::

    python tools/extract_botapi_spec.py [path/to/api.min.json] [out.json]

The input is ``api.min.json`` from the PaulSonOfLars/telegram-bot-api-spec
project (MIT licence).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SRC = ROOT.parent / "shared" / "telegram-bot-api" / "api.min.json"
DEFAULT_OUT = ROOT / "botsim" / "botapi_methods.json"


def extract(spec: dict) -> dict:
    """Reduce the full spec to ``{method: {"fields": {name: {types, required}}}}``."""
    methods: dict[str, dict] = {
        "_source": (
            f"{spec.get('version', 'Bot API')} ({spec.get('release_date', 'unknown date')}) "
            "method signatures extracted by tools/extract_botapi_spec.py from api.min.json of "
            "PaulSonOfLars/telegram-bot-api-spec (MIT licence, Copyright (c) 2020 Paul Larsen), "
            "which is scraped from https://core.telegram.org/bots/api"
        )
    }
    for name, method in spec["methods"].items():
        methods[name] = {
            "fields": {
                field["name"]: {"types": field["types"], "required": bool(field["required"])}
                for field in method.get("fields", [])
            }
        }
    return methods


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else DEFAULT_SRC
    out = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUT
    data = extract(json.loads(src.read_text(encoding="utf-8")))
    out.write_text(
        json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {len(data) - 1} methods to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
