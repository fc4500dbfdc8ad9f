"""Print the GraphQL schema: `python -m server.print_schema > schema.graphql`."""

from __future__ import annotations

from schema import build_schema


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"


if __name__ == "__main__":
    print(schema_sdl(), end="")
