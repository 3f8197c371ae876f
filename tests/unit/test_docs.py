"""The README stays a short front page that keeps its two commands, and every link in it and
in docs/ leads to a file (and a heading) inside this repository."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md")), ROOT / "installer" / "README.md"]

DEMO_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/reviewer-workstation"
)
# .ci/run reads the test command with exactly this awk program: the second line after the
# marker (the first is the code fence).
CI_AWK = "/<!-- test-command -->/{getline; getline; print; exit}"

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def _prose(text: str) -> str:
    """The text a reader sees as prose: no fenced code blocks, no code spans."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def _anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    kept = "".join(
        ch for ch in heading.lower()
        if ch in " -" or unicodedata.category(ch)[0] in "LMN" or unicodedata.category(ch) == "Pc"
    )
    return kept.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    """Every heading id of a Markdown page, numbered as GitHub numbers repeated ones."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    anchors = set()
    for heading in HEADING.findall(text):
        slug = _anchor(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _links(page: Path) -> list[str]:
    prose = _prose(page.read_text(encoding="utf-8"))
    return INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose)


def _test_command(readme: str) -> str:
    """What `.ci/run` runs: the second line after the test-command marker."""
    lines = readme.splitlines()
    marker = next(i for i, line in enumerate(lines) if "<!-- test-command -->" in line)
    return lines[marker + 2]


def test_the_readme_is_a_front_page_of_at_most_200_lines() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 200


def test_the_readme_keeps_the_demo_command_in_a_shell_block() -> None:
    text = README.read_text(encoding="utf-8")
    shell_blocks = re.findall(r"^```bash\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert any(DEMO_COMMAND in block.splitlines() for block in shell_blocks)


def test_the_readme_keeps_the_test_command_where_ci_reads_it() -> None:
    assert CI_AWK in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    text = README.read_text(encoding="utf-8")
    lines = text.splitlines()
    marker = next(i for i, line in enumerate(lines) if "<!-- test-command -->" in line)
    assert lines[marker + 1] == "```bash" and lines[marker + 3] == "```"
    command = _test_command(text)
    steps = [step.strip() for step in command.split("&&")]
    assert steps == [
        "python3 -m venv .venv",
        '.venv/bin/pip install -e ".[test]"',
        ".venv/bin/ruff check .",
        ".venv/bin/lint-imports",
        "QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest",
    ]


def test_the_readme_links_every_docs_page() -> None:
    linked = {(README.parent / link.split("#", 1)[0]).resolve()
              for link in _links(README) if not SCHEME.match(link)}
    for page in DOCS.glob("*.md"):
        assert page.resolve() in linked, f"README.md does not link {page.relative_to(ROOT)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading_in_the_repository(page: Path) -> None:
    problems = []
    for link in _links(page):
        if SCHEME.match(link):
            continue
        path, _, fragment = link.partition("#")
        target = (page.parent / path).resolve() if path else page.resolve()
        if not target.is_relative_to(ROOT) or not target.exists():
            problems.append(f"{link}: no such file in the repository")
        elif fragment and target.suffix == ".md" and fragment not in _anchors(target):
            problems.append(f"{link}: {target.name} has no heading #{fragment}")
    assert not problems, f"{page.relative_to(ROOT)}: " + "; ".join(problems)


def test_nothing_points_outside_the_repository_for_the_design() -> None:
    outside = "../" + "shared"
    names = [README, *DOCS.glob("*.md"), *ROOT.glob("installer/**/*.md"),
             *ROOT.glob("bench/*"), *(ROOT / "reviewer").rglob("*.py"),
             *(ROOT / "ui").rglob("*.py"), *(ROOT / "tests").rglob("*.py"),
             ROOT / "pyproject.toml", ROOT / ".ci" / "run"]
    found = [str(p.relative_to(ROOT)) for p in names
             if p.is_file() and outside in p.read_text(encoding="utf-8", errors="replace")]
    assert not found


def test_the_link_checker_sees_links_and_headings_as_github_does() -> None:
    assert _anchor("A team backend (PostgreSQL behind `reviewer-server`)") == (
        "a-team-backend-postgresql-behind-reviewer-server")
    assert _anchor("Administration: `reviewer-admin`") == "administration-reviewer-admin"
    assert _anchor("Statements of reasons and the audit log") == (
        "statements-of-reasons-and-the-audit-log")
    sample = "[a](x.md) `[b](y.md)` ![c](img.png \"t\")\n```\n[d](z.md)\n```\n[e]: w.md\n"
    prose = _prose(sample)
    assert INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose) == [
        "x.md", "img.png", "w.md"]
