"""docs/design.md is the design the code cites. Every "docs/design.md section N" in the
repository must name a section that exists, the document's own cross-references and contents
links must resolve, its numbering must stay gapless (citations depend on it), and nothing may
cite the design file that lived outside the repository, which a clone does not have.

Pure text checks: no database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DESIGN_DOC = ROOT / "docs" / "design.md"

# What the repository's own text lives in; virtual environments, data and caches are not it.
TEXT_SUFFIXES = frozenset({".py", ".md", ".graphql", ".toml", ".lua", ".txt", ".sh", ".cfg"})
TEXT_NAMES = frozenset({"Dockerfile", "run"})
SKIPPED_DIRS = frozenset({"var", "node_modules", "__pycache__", "build", "dist"})

# "section 5", "sections 3 and 9", "sections 4, 5 and 8", "section 5.2".
_NUMBER = r"\d+(?:\.\d+)?"
_NUMBERS = rf"{_NUMBER}(?:(?:, | and | or ){_NUMBER})*"
CITATION = re.compile(rf"docs/design\.md`?,? sections? ({_NUMBERS})")
# Inside the document: "section 9.2", but not another document's ("deploy.md` section 7").
INNER_REFERENCE = re.compile(rf"(?<!\.md` )(?<!\.md )\bsections? ({_NUMBERS})")
ANCHOR = re.compile(r"design\.md#([\w-]+)")
INNER_ANCHOR = re.compile(r"\]\(#([^)]+)\)")
# Written in two parts so that this file does not cite what it forbids.
OUTSIDE = re.compile(r"\b" + "DES" + r"IGN\b|shared/" + "DES" + "IGN")


def _text_files() -> Iterator[Path]:
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT).parts
        hidden = any(p.startswith(".") and p != ".ci" for p in rel[:-1])
        if hidden or any(p in SKIPPED_DIRS or p.endswith(".egg-info") for p in rel[:-1]):
            continue
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES):
            yield path


def _joined(text: str) -> str:
    """The text with line breaks (and a comment's leading `#`) folded into spaces, so that a
    citation wrapped across lines reads as one."""
    return re.sub(r"[ \t]*\n[ \t]*(?:#[ \t]*)?", " ", text)


def _numbers(group: str) -> list[str]:
    return re.findall(_NUMBER, group)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    kept = "".join(c for c in heading.strip().lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def _headings() -> list[tuple[int, str]]:
    """(level, text) of every heading outside code blocks."""
    out: list[tuple[int, str]] = []
    fenced = False
    for line in DESIGN_DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"(#{1,6}) (.+)", line)):
            out.append((len(m.group(1)), m.group(2)))
    return out


def _sections() -> set[str]:
    """The numbers a citation may name: "5" for "## 5. …", "5.2" for "### 5.2 …"."""
    pattern = {2: re.compile(r"(\d+)\. "), 3: re.compile(r"(\d+\.\d+) ")}
    found: set[str] = set()
    for level, text in _headings():
        if level in pattern and (m := pattern[level].match(text)):
            found.add(m.group(1))
    return found


def test_sections_are_numbered_without_gaps() -> None:
    """Sections 1..n in order, and each one's subsections n.1..n.k in order: a renumbered or
    skipped section would silently retarget citations."""
    top, sub = 0, 0
    for level, text in _headings():
        if level == 2:
            assert text.startswith(f"{top + 1}. "), f"expected section {top + 1}, got {text!r}"
            top, sub = top + 1, 0
        elif level == 3:
            assert text.startswith(f"{top}.{sub + 1} "), (
                f"expected subsection {top}.{sub + 1}, got {text!r}"
            )
            sub += 1
    assert top >= 10, "docs/design.md lost its sections"


def test_every_citation_names_a_section_that_exists() -> None:
    sections = _sections()
    cited, missing = 0, []
    for path in _text_files():
        text = _joined(path.read_text(encoding="utf-8", errors="replace"))
        for m in CITATION.finditer(text):
            for number in _numbers(m.group(1)):
                cited += 1
                if number not in sections:
                    missing.append(f"{path.relative_to(ROOT)}: section {number}")
    assert not missing, "citations of sections docs/design.md does not have:\n" + "\n".join(
        missing
    )
    assert cited >= 20, f"only {cited} citations found: is the pattern still right?"


def test_cross_references_inside_the_document_resolve() -> None:
    sections = _sections()
    text = _joined(DESIGN_DOC.read_text(encoding="utf-8"))
    refs = [n for m in INNER_REFERENCE.finditer(text) for n in _numbers(m.group(1))]
    assert refs, "no cross-references found: is the pattern still right?"
    assert sorted(set(refs) - sections) == []


def test_links_to_the_document_resolve() -> None:
    anchors = {_slug(text) for _, text in _headings()}
    bad = [
        f"{DESIGN_DOC.relative_to(ROOT)}: #{a}"
        for a in INNER_ANCHOR.findall(DESIGN_DOC.read_text(encoding="utf-8"))
        if a not in anchors
    ]
    for path in _text_files():
        for a in ANCHOR.findall(path.read_text(encoding="utf-8", errors="replace")):
            if a not in anchors:
                bad.append(f"{path.relative_to(ROOT)}: design.md#{a}")
    assert not bad, "links to headings docs/design.md does not have:\n" + "\n".join(bad)


def test_nothing_cites_the_design_outside_the_repository() -> None:
    found = []
    for path in _text_files():
        for number, line in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
        ):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, (
        "cite docs/design.md (and its section) instead of the outside design file:\n"
        + "\n".join(found)
    )
