"""The documentation as a contract: a short README, its test command equal to CI's, no dead links, every command documented.

The README is what a newcomer reads in five minutes; everything else lives
in docs/ (one guide per role, configuration, deployment, confidentiality,
architecture...) and CONTRIBUTING.md. These tests keep it that way: the
README stays short, the command it gives for the tests is the one ``.ci/run``
runs, every relative link (and its #anchor) leads somewhere, every file in
docs/ is on the README's map, and every command the bot registers is
explained in at least one of the role guides.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from telegram.ext import BaseHandler, CommandHandler, ConversationHandler

from store.org import load_org
from store.services import Services
from tests.offline import offline_app

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 250
# The guides a command must be explained in: one per role.
ROLE_GUIDES = ("employee.md", "officer.md", "leader.md", "custodian.md", "administrator.md")

# Documents other tracks are writing in parallel with this one: linked (and on
# the README's map) already, allowed to be missing until their branch is merged.
# The integrator removes each entry once the file is on main.
PENDING_DOCS: set[str] = set()

LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[^\n]*$", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def documents() -> list[Path]:
    return [README, ROOT / "CONTRIBUTING.md", *sorted(DOCS.glob("*.md"))]


def prose(text: str) -> str:
    """The text without fenced blocks and code spans, where a [x](y) is not a link."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def links(path: Path) -> list[str]:
    return LINK.findall(prose(path.read_text(encoding="utf-8")))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (CJK kept), spaces to hyphens."""
    text = heading.strip().replace("`", "").lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LMN")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for line in FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            name, n = base, 0
            while name in found:  # GitHub numbers repeated headings
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    return found


def ci_command() -> str:
    """What ``.ci/run`` runs after its preamble (comments, ``set``, ``cd``), as one line."""
    lines = []
    for raw in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith(("set ", "cd ")):
            continue
        lines.append(line.removesuffix("\\").strip())
    return " ".join(lines)


def shell_blocks(text: str) -> list[str]:
    return [block.strip() for block in re.findall(r"^```(?:sh|bash|shell)\n(.*?)^```", text, re.S | re.M)]


def test_the_readme_is_a_five_minute_read() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move detail into docs/"
    assert lines[0] == "# petition-bot"
    assert "信访" in "\n".join(lines[:5]), "the first lines say what the bot is for"


def test_the_readme_test_command_is_what_ci_runs() -> None:
    command = ci_command()
    assert "pytest" in command, f".ci/run's command was not found: {command!r}"
    blocks = [" ".join(line.strip() for line in block.splitlines()) for block in shell_blocks(README.read_text(encoding="utf-8"))]
    assert command in blocks, f"README.md gives no ```sh block equal to .ci/run's command:\n{command}"


def test_the_readme_gives_the_command_that_runs_the_bot() -> None:
    blocks = shell_blocks(README.read_text(encoding="utf-8"))
    assert any(block.endswith("petition-bot run") and "PETITION_BOT_TOKEN=" in block for block in blocks)
    assert any(block.endswith("petition-bot demo") for block in blocks)


def test_every_relative_link_points_at_a_file_and_heading_that_exist() -> None:
    broken = []
    for doc in documents():
        for target in links(doc):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
                continue
            file_part, _, anchor = target.partition("#")
            path = (doc.parent / file_part).resolve() if file_part else doc
            where = f"{doc.relative_to(ROOT)} → {target}"
            relative = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
            if not path.exists():
                if relative not in PENDING_DOCS:
                    broken.append(f"{where}: no such file")
                continue
            if anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{where}: no heading #{anchor} in {relative}")
    assert not broken, "\n".join(broken)


def test_the_pending_documents_are_still_pending_and_linked() -> None:
    # An entry for a file that now exists is stale: the file's links must be checked like any other.
    arrived = sorted(name for name in PENDING_DOCS if (ROOT / name).exists())
    assert not arrived, f"remove from PENDING_DOCS in tests/test_readme.py: {arrived}"
    readme_links = set(links(README))
    assert {name for name in PENDING_DOCS if name not in readme_links} == set()


def test_every_document_is_on_the_readme_map() -> None:
    mapped = {target.partition("#")[0] for target in links(README)}
    missing = [f"docs/{p.name}" for p in sorted(DOCS.glob("*.md")) if f"docs/{p.name}" not in mapped]
    assert "CONTRIBUTING.md" in mapped
    assert not missing, f"README.md's map of the documentation lacks {missing}"


def commands(handlers: list[BaseHandler]) -> Iterator[str]:
    for handler in handlers:
        if isinstance(handler, CommandHandler):
            yield from handler.commands
        elif isinstance(handler, ConversationHandler):
            yield from commands(list(handler.entry_points))
            for step in handler.states.values():
                yield from commands(list(step))
            yield from commands(list(handler.fallbacks))


def mentioned(name: str, text: str) -> bool:
    return re.search(rf"(?<![\w/])/{re.escape(name)}(?![\w])", text) is not None


async def test_every_command_the_bot_registers_is_explained_in_a_role_guide(tmp_path: Path) -> None:
    org = load_org(ROOT / "tests" / "org_fixture.toml")
    services = await Services.open(str(tmp_path / "cases.db"), org)
    try:
        async with offline_app(services) as (application, _request):
            registered = {name for group in application.handlers.values() for name in commands(group)}
    finally:
        await services.close()
    assert {"new", "accept", "staff", "reveal"} <= registered, f"the handler table was not read: {registered}"
    guides = "\n".join((DOCS / name).read_text(encoding="utf-8") for name in ROLE_GUIDES)
    undocumented = sorted(name for name in registered if not mentioned(name, guides))
    assert not undocumented, f"commands no guide in docs/ ({', '.join(ROLE_GUIDES)}) mentions: {undocumented}"


def test_the_link_and_anchor_rules_are_the_ones_github_uses() -> None:
    # The checker itself must be able to fail: a made-up heading and a CJK one.
    assert slug("Lead and co-handling units (主办 / 协办)") == "lead-and-co-handling-units-主办--协办"
    assert slug("Indicators (`/stats`, `/export`)") == "indicators-stats-export"
    assert links(README)  # the README links its documentation
    assert not mentioned("incident", "`/incident_close <id>`")
    assert mentioned("incident", "`/incident <id>`")
