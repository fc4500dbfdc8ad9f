"""What one GraphQL document may cost. Its length and tokens bound the parse; then, before
any validation rule runs, check_document_cost refuses documents past its operations, depth,
aliases, repeated fields, selections once fragments are spread, and what it holds as written
(variables, directives, arguments, literal values); the validation rules then check depth,
aliases and the text of string literals again with the rest. Each refusal carries a stable
`extensions.code`; server/graphql_errors.py words it in the client's language
(DOCUMENT_LIMITS gives the limit each names).

graphql-core runs all validation rules in one visitor, so a rule reporting a document does not
stop the others: OverlappingFieldsCanBeMergedRule compares every pair of fields that share a
response name, and a 10 KB document repeating one field a few hundred times cost it 1-2 s of
CPU. check_document_cost measures that before `validate` is called, in time linear in what it
counts and stopping at its limits; DocumentLimits puts it (with parsing and validation, both
remembered) into every strawberry operation: POST and GET, multipart uploads, websockets.

Depth and aliases are counted through fragment spreads once per fragment (memoised), so the
work is linear in the document. strawberry's own QueryDepthLimiter and MaxAliasesLimiter walk
each fragment again at every spread of it: a document of a few hundred bytes whose fragments
each spread the next one twice made them walk 2^30 paths and hang the worker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, GraphQLSchema, parse, validate
from graphql.language import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
)
from graphql.validation import ASTValidationRule, ValidationContext, ValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
INVALID_CHARACTERS = "INVALID_CHARACTERS"
QUERY_TOO_LONG = "QUERY_TOO_LONG"
TOO_MANY_OPERATIONS = "TOO_MANY_OPERATIONS"
TOO_MANY_FIELDS = "TOO_MANY_FIELDS"
FIELD_REPEATED = "FIELD_REPEATED"
TOO_MANY_VARIABLES = "TOO_MANY_VARIABLES"
TOO_MANY_DIRECTIVES = "TOO_MANY_DIRECTIVES"
TOO_MANY_ARGUMENTS = "TOO_MANY_ARGUMENTS"
VALUE_TOO_LARGE = "VALUE_TOO_LARGE"
TOO_MANY_VALUES = "TOO_MANY_VALUES"


@dataclass(frozen=True)
class Limits:
    """The limits a deployment may set (server.settings): depth, tokens, aliases."""

    max_depth: int = 12
    # The parse (~10 us a token) and every validation rule's walk grow with the tokens. The
    # standard introspection query has 163, the app's largest document about 100; at 2000 a
    # document the rules refuse still cost 30-70 ms.
    max_tokens: int = 1000
    max_aliases: int = 30


# Characters of a document (graphql-core's max_source_length, checked before lexing; refused
# as QUERY_TOO_LONG). The token limit does not bound a token's length: a 900 KB string
# literal took 0.4 s to lex, 32 K characters take under 10 ms. The app's longest document
# is under 1 K, the standard introspection query under 2 K.
MAX_DOCUMENT_CHARS = 32 * 1024
# Operations in one document. The app sends one; validating each costs a walk of it (its
# variables' uses), 240 tiny ones took 60-90 ms.
MAX_OPERATIONS = 20
# What one operation, field or document holds, as written. The app's documents declare at most
# 5 variables, put at most 1 directive on a field, pass at most 6 arguments (the schema's most)
# and write 25 values in literals at most. Validation walks each of them at 10-20 us apiece,
# and every error about a literal prints the literal again: 49 unknown fields in one input
# object took 27 ms, 600 took 1.3 s; twenty 61-value objects 40 ms.
MAX_VARIABLES = 50
MAX_DIRECTIVES = 10
MAX_ARGUMENTS = 20
MAX_LITERAL_VALUES = 64  # values and object fields in one literal
MAX_DOCUMENT_VALUES = 256  # in all the literals of a document
# Validation errors reported before validation stops (graphql-core's default is 100). Many
# errors print the literal they are about: the cost is errors times literal size.
MAX_VALIDATION_ERRORS = 20
# Selections (fields, fragment spreads, inline fragments) counted at every place a fragment
# is spread and every response path the fields merge into. The app's largest document makes
# about 100, the standard introspection query 471. It bounds both the overlap rule's work and
# the compiled plan (one entry per merged field, schema.compiled).
MAX_SELECTIONS = 2000
# Fields with one response name merging into one place (through fragments and into the
# selections of fields they merge with). The app repeats a field twice at most (a field next to
# a fragment that selects it too); the overlap rule compares every pair of them.
MAX_FIELD_REPEATS = 10

# The limit each refusal of a document names in its message.
DOCUMENT_LIMITS = {
    QUERY_TOO_LONG: MAX_DOCUMENT_CHARS,
    TOO_MANY_OPERATIONS: MAX_OPERATIONS,
    TOO_MANY_VARIABLES: MAX_VARIABLES,
    TOO_MANY_DIRECTIVES: MAX_DIRECTIVES,
    TOO_MANY_ARGUMENTS: MAX_ARGUMENTS,
    VALUE_TOO_LARGE: MAX_LITERAL_VALUES,
    TOO_MANY_VALUES: MAX_DOCUMENT_VALUES,
    TOO_MANY_FIELDS: MAX_SELECTIONS,
    FIELD_REPEATED: MAX_FIELD_REPEATS,
}


def _coded(message: str, code: str, nodes: Any = None) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": code})


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


class _Measure:
    """A per-document measure of selection sets, each fragment measured once. A fragment met
    again while it is being measured (a cycle, which NoFragmentCyclesRule reports) counts 0."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.memo: dict[str, int] = {}
        self.active: set[str] = set()

    def spread(self, node: FragmentSpreadNode) -> int:
        name = node.name.value
        fragment = self.fragments.get(name)
        if fragment is None or name in self.active:
            return 0
        if name not in self.memo:
            self.active.add(name)
            self.memo[name] = self.of(fragment.selection_set)
            self.active.discard(name)
        return self.memo[name]

    def of(self, selection_set: SelectionSetNode | None) -> int:
        raise NotImplementedError


class _Depth(_Measure):
    """How many fields with selections nest above the deepest leaf (introspection fields,
    `__schema` and the like, are not counted: strawberry's rule, kept)."""

    def of(self, selection_set: SelectionSetNode | None) -> int:
        deepest = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                if selection.selection_set and not selection.name.value.startswith("__"):
                    deepest = max(deepest, 1 + self.of(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.of(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self.spread(selection))
        return deepest


class _Aliases(_Measure):
    """Aliased fields, each spread of a fragment counting its aliases again."""

    def of(self, selection_set: SelectionSetNode | None) -> int:
        count = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                count += (selection.alias is not None) + self.of(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                count += self.of(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                count += self.spread(selection)
        return count


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def too_deep(document: DocumentNode, max_depth: int) -> list[GraphQLError]:
    """An error for each operation nesting deeper than `max_depth`."""
    depth = _Depth(_fragments(document))
    errors = []
    for operation in _operations(document):
        if depth.of(operation.selection_set) > max_depth:
            name = operation.name.value if operation.name else "anonymous"
            message = f"'{name}' exceeds maximum operation depth of {max_depth}"
            errors.append(_coded(message, QUERY_TOO_DEEP, operation))
    return errors


def too_many_aliases(document: DocumentNode, max_aliases: int) -> GraphQLError | None:
    aliases = _Aliases(_fragments(document))
    total = sum(aliases.of(op.selection_set) for op in _operations(document))
    if total > max_aliases:
        return _coded(f"{total} aliases found. Allowed: {max_aliases}", TOO_MANY_ALIASES)
    return None


def depth_rule(max_depth: int) -> type[ValidationRule]:
    class QueryDepthRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for error in too_deep(context.document, max_depth):
                self.report_error(error)

    return QueryDepthRule


def alias_rule(max_aliases: int) -> type[ValidationRule]:
    class AliasCountRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            if error := too_many_aliases(context.document, max_aliases):
                self.report_error(error)

    return AliasCountRule


def bad_characters(text: str) -> bool:
    """NUL (PostgreSQL text cannot hold it) or a lone UTF-16 surrogate (not encodable)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class TextLiteralRule(ValidationRule):
    """String literals in the document: no NUL, no lone surrogates. (Variables are checked
    by the HTTP layer before the document runs.)"""

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if bad_characters(node.value):
            self.report_error(
                _coded(
                    "String values may not contain NUL characters or unpaired surrogates",
                    INVALID_CHARACTERS,
                    node,
                )
            )


# --- the cost of a document, before validation -----------------------------------------------


def _defined_fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    """The fragments by name, the first of a name kept (UniqueFragmentNamesRule reports the
    rest)."""
    fragments: dict[str, FragmentDefinitionNode] = {}
    for d in document.definitions:
        if isinstance(d, FragmentDefinitionNode):
            fragments.setdefault(d.name.value, d)
    return fragments


def _values(value: ValueNode) -> int:
    """The values of a literal (itself, its items, its fields and their values, theirs),
    counted up to past MAX_LITERAL_VALUES."""
    count, stack = 0, [value]
    while stack and count <= MAX_LITERAL_VALUES:
        value = stack.pop()
        count += 1
        if isinstance(value, ListValueNode):
            stack.extend(value.values)
        elif isinstance(value, ObjectValueNode):
            count += len(value.fields)  # each field is printed with its name in errors
            stack.extend(f.value for f in value.fields)
    return count


class _AsWritten:
    """Variables per operation, directives per place, arguments per field or directive and
    the values of all literals, each node of the document looked at once."""

    def __init__(self) -> None:
        self.values = 0

    def literal(self, value: ValueNode, node: Node) -> GraphQLError | None:
        values = _values(value)
        if values > MAX_LITERAL_VALUES:
            message = f"A literal may hold at most {MAX_LITERAL_VALUES} values"
            return _coded(message, VALUE_TOO_LARGE, node)
        self.values += values
        if self.values > MAX_DOCUMENT_VALUES:
            message = f"The literals of a document may hold at most {MAX_DOCUMENT_VALUES} values"
            return _coded(message, TOO_MANY_VALUES, node)
        return None

    def arguments(
        self, arguments: tuple[ArgumentNode, ...] | None, node: Node
    ) -> GraphQLError | None:
        if len(arguments or ()) > MAX_ARGUMENTS:
            return _coded(f"At most {MAX_ARGUMENTS} arguments", TOO_MANY_ARGUMENTS, node)
        for argument in arguments or ():
            if error := self.literal(argument.value, argument):
                return error
        return None

    def directives(
        self, directives: tuple[DirectiveNode, ...] | None, node: Node
    ) -> GraphQLError | None:
        if len(directives or ()) > MAX_DIRECTIVES:
            return _coded(f"At most {MAX_DIRECTIVES} directives", TOO_MANY_DIRECTIVES, node)
        for directive in directives or ():
            if error := self.arguments(directive.arguments, directive):
                return error
        return None

    def check(self, document: DocumentNode) -> GraphQLError | None:
        selection_sets: list[SelectionSetNode] = []
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                variables = definition.variable_definitions or ()
                if len(variables) > MAX_VARIABLES:
                    return _coded(
                        f"An operation may declare at most {MAX_VARIABLES} variables",
                        TOO_MANY_VARIABLES,
                        definition,
                    )
                for variable in variables:
                    if error := self.directives(variable.directives, variable):
                        return error
                    default = variable.default_value
                    if default is not None and (error := self.literal(default, variable)):
                        return error
            elif not isinstance(definition, FragmentDefinitionNode):
                continue  # not executable: ExecutableDefinitionsRule reports it
            if error := self.directives(definition.directives, definition):
                return error
            selection_sets.append(definition.selection_set)
        while selection_sets:
            for selection in selection_sets.pop().selections:
                if error := self.directives(selection.directives, selection):
                    return error
                if isinstance(selection, FieldNode):
                    if error := self.arguments(selection.arguments, selection):
                        return error
                    if selection.selection_set is not None:
                        selection_sets.append(selection.selection_set)
                elif isinstance(selection, InlineFragmentNode):
                    selection_sets.append(selection.selection_set)
        return None


def _merged(document: DocumentNode) -> GraphQLError | None:
    """Fields repeated in one place and selections in all, following the response shape: for
    each place (an operation or fragment definition, then each response key below) the
    selection sets merging there are collected, inline fragments and fragment spreads included
    (each fragment once per place, as CollectFields does, so fragments spreading the next one
    twice stay linear), and the fields sharing a response key make the next place. A fragment
    already spread on the way to a place is not spread again (a cycle, which
    NoFragmentCyclesRule reports). The overlap rule compares pairs within each place: with at
    most MAX_FIELD_REPEATS fields a place and MAX_SELECTIONS selections in all, a few thousand
    comparisons at most; the compiled plan has an entry per merged field."""
    fragments = _defined_fragments(document)
    bit = {name: 1 << i for i, name in enumerate(fragments)}
    selections = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            path = 0
        elif isinstance(definition, FragmentDefinitionNode):
            name = definition.name.value
            path = bit[name] if fragments[name] is definition else 0
        else:
            continue
        # Each place: its selection sets, each with the fragments spread on the way to it.
        places: list[list[tuple[SelectionSetNode, int]]] = [[(definition.selection_set, path)]]
        while places:
            pending = places.pop()
            fields: dict[str, list[tuple[FieldNode, int]]] = {}
            spread: set[str] = set()
            while pending:
                selection_set, path = pending.pop()
                for selection in selection_set.selections:
                    selections += 1
                    if selections > MAX_SELECTIONS:
                        return _coded(
                            f"The document makes more than {MAX_SELECTIONS} selections",
                            TOO_MANY_FIELDS,
                        )
                    if isinstance(selection, FieldNode):
                        key = selection.alias.value if selection.alias else selection.name.value
                        fields.setdefault(key, []).append((selection, path))
                    elif isinstance(selection, InlineFragmentNode):
                        pending.append((selection.selection_set, path))
                    elif isinstance(selection, FragmentSpreadNode):
                        name = selection.name.value
                        if name in spread or name not in bit or path & bit[name]:
                            continue
                        spread.add(name)
                        pending.append((fragments[name].selection_set, path | bit[name]))
            for key, merged in fields.items():
                if len(merged) > MAX_FIELD_REPEATS:
                    return _coded(
                        f"'{key}' is selected more than {MAX_FIELD_REPEATS} times in one place",
                        FIELD_REPEATED,
                        [node for node, _ in merged[:2]],
                    )
                below = [(node.selection_set, p) for node, p in merged if node.selection_set]
                if below:
                    places.append(below)
    return None


def check_document_cost(document: DocumentNode, limits: Limits = Limits()) -> GraphQLError | None:
    """The refusal of a document whose validation (or compiled plan) would cost more than a
    real app's ever does, or None: its operations, depth and aliases, its repeated fields and
    selections (_merged), then what it holds as written (_AsWritten). Cheap: each measure
    stops at its limit, and the work is bounded by the size of the document and the limits."""
    operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
    if operations > MAX_OPERATIONS:
        return _coded(
            f"A document may hold at most {MAX_OPERATIONS} operations", TOO_MANY_OPERATIONS
        )
    if deep := too_deep(document, limits.max_depth):
        return deep[0]
    return (
        too_many_aliases(document, limits.max_aliases)
        or _merged(document)
        or _AsWritten().check(document)
    )


SHORT_DOCUMENT = 8192  # characters: documents remembered by the hundred; longer ones by few


def _parse(query: str, max_tokens: int) -> DocumentNode | GraphQLError:
    try:
        return parse(query, max_tokens=max_tokens, max_source_length=MAX_DOCUMENT_CHARS)
    except GraphQLError as error:
        return error


_parse_short = lru_cache(maxsize=256)(_parse)
# A long document is remembered too, if only for the request that sent it: the HTTP layer,
# the compiled path and strawberry all ask for it.
_parse_long = lru_cache(maxsize=16)(_parse)


def _within_length(query: str) -> str:
    """The text, or past MAX_DOCUMENT_CHARS only its first character beyond: the parser
    refuses it all the same, without reading the rest."""
    return query if len(query) <= MAX_DOCUMENT_CHARS else query[: MAX_DOCUMENT_CHARS + 1]


def parse_document(query: str, max_tokens: int) -> DocumentNode | GraphQLError:
    """The document of this text within the limits (MAX_DOCUMENT_CHARS, `max_tokens`), or
    the syntax error that refuses it; remembered, so each text is parsed once. (The document
    keeps its locations: validation errors cite them.)"""
    query = _within_length(query)
    return (_parse_short if len(query) <= SHORT_DOCUMENT else _parse_long)(query, max_tokens)


def validate_within_limits(
    schema: GraphQLSchema,
    document: DocumentNode,
    limits: Limits,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool = False,
) -> list[GraphQLError]:
    """check_document_cost, then (if it passes) the validation rules: strawberry's
    validate_document, which adds the two rules below, stopping at fewer errors, and in
    production without "Did you mean …?" (schema.suggestions says why)."""
    refused = check_document_cost(document, limits)
    if refused is not None:
        return [refused]
    rules = (*rules, MaybeNullValidationRule, OneOfInputValidationRule)
    return validate(
        schema,
        document,
        rules,
        max_errors=MAX_VALIDATION_ERRORS,
        hide_suggestions=hide_suggestions,
    )


@lru_cache(maxsize=256)
def validate_text(
    schema: GraphQLSchema,
    query: str,
    limits: Limits,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool = False,
) -> list[GraphQLError]:
    """The errors of this text: its syntax error, or validate_within_limits'. Remembered by
    the text (a str hashes once, while a document is hashed node by node at every look-up, as
    strawberry's ValidationCache did), and shared by strawberry's operations and the compiled
    queries, which validate with the same rules: a document is validated once."""
    document = parse_document(query, limits.max_tokens)
    if isinstance(document, GraphQLError):
        return [document]
    return validate_within_limits(schema, document, limits, rules, hide_suggestions)


class DocumentLimits(SchemaExtension):
    """Parsing and validation of every strawberry operation, within the limits and
    remembered (it replaces strawberry's ParserCache, ValidationCache and MaxTokensLimiter):
    the text's length and tokens bound the parse, check_document_cost runs before the
    validation rules and refuses in their stead."""

    def __init__(self, limits: Limits, *, hide_suggestions: bool = False) -> None:
        self.limits = limits
        self.hide_suggestions = hide_suggestions
        self.parsed_here = False

    def on_operation(self) -> Iterator[None]:
        options: dict[str, Any] = self.execution_context.parse_options  # type: ignore[assignment]
        options.update(max_tokens=self.limits.max_tokens, max_source_length=MAX_DOCUMENT_CHARS)
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query and context.graphql_document is None:
            parsed = parse_document(context.query, self.limits.max_tokens)
            if isinstance(parsed, DocumentNode):
                context.graphql_document = parsed
                self.parsed_here = True
            else:
                # Not raised here (an error raised by this hook escapes strawberry's handling
                # on the websocket path): strawberry parses again with the same options and
                # reports it. An over-long text is cut to one past the limit first, which
                # fails the same way; graphql-core would otherwise scan all of it for line
                # breaks to place the error (40 ms a megabyte).
                context.query = _within_length(context.query)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            schema, rules = context.schema._schema, context.validation_rules
            hide = self.hide_suggestions
            if self.parsed_here and context.query:
                errors = validate_text(schema, context.query, self.limits, rules, hide)
            else:
                errors = validate_within_limits(schema, document, self.limits, rules, hide)
            context.pre_execution_errors = errors
        yield
