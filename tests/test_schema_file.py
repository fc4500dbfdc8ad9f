from pathlib import Path

from server.print_schema import schema_sdl


def test_committed_schema_matches_the_code():
    committed = (Path(__file__).parent.parent / "schema.graphql").read_text(encoding="utf-8")
    assert committed == schema_sdl(), (
        "schema.graphql is stale: run `python -m server.print_schema > schema.graphql`"
    )
