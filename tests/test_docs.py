"""The README and the documentation site (docs/, built by mkdocs in CI): every GraphQL document
they show validates against the committed schema, so a renamed field breaks this test rather
than a reader's first query; the README stays short, keeps its two commands and links only to
files that exist. Broken links between the site's pages are `mkdocs build --strict`'s to catch.

Pure text checks: no database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"

INSTALL = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/enterprise-desk serve"
)
TEST_COMMAND = ".venv/bin/python -m tests"
README_MAX_CHARACTERS = 8000

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
# The tutorial's shell steps: gql '<document>' name=value …
SHELL_DOCUMENT = re.compile(r"\bgql '([^']+)'")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _pages() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def _documents() -> Iterator[tuple[str, str]]:
    """(where, document) for every GraphQL document shown: `graphql` fences, and the documents
    the shell steps post."""
    for page in _pages():
        text = page.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            where = f"{page.relative_to(ROOT)}:{line}"
            if m.group(1) == "graphql":
                yield where, m.group(2)
            elif m.group(1) == "sh":
                for doc in SHELL_DOCUMENT.findall(m.group(2)):
                    yield where, doc


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))


def test_every_document_shown_validates_against_the_schema(schema: GraphQLSchema) -> None:
    found, bad = 0, []
    for where, document in _documents():
        found += 1
        try:
            errors = validate(schema, parse(document))
        except Exception as err:  # a GraphQLSyntaxError: report it with the others
            errors = [err]
        bad += [f"{where}: {e}" for e in errors]
    assert not bad, "documents the docs show that the schema refuses:\n" + "\n".join(bad)
    # The tutorial alone posts 20-odd documents; far fewer means the patterns stopped matching.
    assert found >= 30, f"only {found} GraphQL documents found: are the patterns still right?"


def test_the_readme_is_short_and_keeps_its_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text) < README_MAX_CHARACTERS, f"README.md has {len(text)} characters"
    lines = {line.strip() for line in text.splitlines()}
    assert INSTALL in lines
    assert TEST_COMMAND in lines


def test_the_readmes_links_point_at_files_that_exist() -> None:
    missing = []
    for target in LINK.findall(README.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a URL, or an anchor of the README itself
        path = target.split("#", 1)[0]
        if not (ROOT / path).exists():
            missing.append(target)
    assert not missing, f"README.md links to files that do not exist: {missing}"
