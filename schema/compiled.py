"""Queries executed from a plan compiled once per document (docs/design.md section 12.2:
synchronous field resolution, nothing repeated per request).

graphql-core's executor spends ~10 µs per field on every request: collecting the selection,
building a resolve-info object, checking for awaitables, completing by type, all through
generic code. A list screen of 20 rows with a dozen fields each spent more time there than in
its SQL. Here the document is parsed, validated (with the schema's limit rules) and turned
into a plan the first time it is seen: per object type, the response keys in order, each with
the field's resolver (the same strawberry resolver graphql-core would call) and a completion
function made for its return type. A request then only coerces its variables and walks the
plan; fields whose resolvers are async (DataLoaders, the root fields) are awaited together,
level by level, so DataLoader batching works as before.

Only the common shape is compiled: a query (no mutation, subscription or introspection), no
directives, object types only (an interface or union field, e.g. `node`, is left to
graphql-core). A request whose plan cannot be made, whose variables do not coerce, or whose
execution raises or meets a null where the schema promises none is executed again by
strawberry, which produces the exact errors and partial data the spec asks for; only
queries take this path, so running one twice changes nothing."""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    ValueNode,
    VariableNode,
    is_abstract_type,
    is_leaf_type,
    specified_rules,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.validation import ASTValidationRule
from strawberry.types import Info
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

from schema.input_edges import InputEdges
from schema.request_limits import Limits, parse_document, validate_text

PLAN_CACHE_SIZE = 256
# Queries answered from a plan, and those handed to strawberry (GET /metrics shows both).
QUERY_PATHS: Counter[str] = Counter(compiled=0, strawberry=0)


class _Bail(Exception):
    """This request leaves the compiled path: strawberry executes it instead."""


class _Info:
    """What a resolver may ask of its resolve info here: the context (the resolvers of this
    schema read `info.context`), the field's name (graphql-core's default resolver), and for a
    look-ahead at its selection (schema.lookahead) its nodes and the document's fragments, as
    graphql-core names them."""

    __slots__ = ("context", "field_name", "field_nodes", "fragments")

    def __init__(
        self,
        context: Any,
        field_name: str,
        field_nodes: Sequence[FieldNode],
        fragments: dict[str, FragmentDefinitionNode],
    ) -> None:
        self.context = context
        self.field_name = field_name
        self.field_nodes = field_nodes
        self.fragments = fragments


class _Run:
    """One request's walk of a plan: its context, variables, the document's fragments, and the
    async field values still to await (with the dict and key they complete into)."""

    __slots__ = ("context", "fragments", "pending", "variables")

    def __init__(
        self,
        context: Any,
        variables: VariableValues,
        fragments: dict[str, FragmentDefinitionNode],
    ) -> None:
        self.context = context
        self.variables = variables
        self.fragments = fragments
        self.pending: list[tuple[Any, dict[str, Any], str, Completer]] = []


Completer = Callable[[_Run, Any], Any]


@dataclass(slots=True)
class _FieldPlan:
    key: str  # the response key (alias or name)
    name: str
    definition: GraphQLField | None  # None: __typename
    node: FieldNode
    basic: bool  # a plain attribute: no info, no arguments
    complete: Completer
    # A resolver without arguments, called as strawberry would call it but without its
    # per-call wrapping (info object, argument conversion, extension chain).
    direct: Callable[[_Run, Any], Any] | None = None
    nodes: tuple[FieldNode, ...] = ()  # every node of the field (`node` is the first)


class _ObjectPlan:
    __slots__ = ("fields", "type_name")

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        self.fields: list[_FieldPlan] = []

    def complete(self, run: _Run, source: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            definition = f.definition
            if definition is None:
                out[f.key] = self.type_name
                continue
            resolve = definition.resolve
            if f.basic:
                value = resolve(source, None)  # type: ignore[misc]
            elif f.direct is not None:
                value = f.direct(run, source)
            else:
                info = _Info(run.context, f.name, f.nodes, run.fragments)
                args = (
                    get_argument_values(definition, f.node, run.variables)
                    if definition.args
                    else {}
                )
                value = (
                    resolve(source, info, **args)
                    if resolve is not None
                    else _default(source, f.name)
                )
            if inspect.isawaitable(value):
                out[f.key] = None
                run.pending.append((value, out, f.key, f.complete))
            else:
                out[f.key] = f.complete(run, value)
        return out


def _default(source: Any, name: str) -> Any:
    return source.get(name) if isinstance(source, dict) else getattr(source, name, None)


@dataclass(frozen=True, slots=True)
class _Plan:
    operation: OperationDefinitionNode
    root: _ObjectPlan
    fragments: dict[str, FragmentDefinitionNode]


class _Compiler:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def object_plan(
        self, type_: GraphQLObjectType, selection_sets: Sequence[SelectionSetNode]
    ) -> _ObjectPlan:
        groups: OrderedDict[str, list[FieldNode]] = OrderedDict()
        visited: set[str] = set()
        for selection_set in selection_sets:
            self._collect(type_, selection_set, groups, visited)
        plan = _ObjectPlan(type_.name)
        for key, nodes in groups.items():
            plan.fields.append(self._field_plan(type_, key, nodes))
        return plan

    def _collect(
        self,
        type_: GraphQLObjectType,
        selection_set: SelectionSetNode,
        groups: OrderedDict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        """CollectFields of the spec: each fragment is collected once per object (`visited`);
        expanding it at every spread made fragments that spread the next one twice take 2^n
        steps."""
        for selection in selection_set.selections:
            if selection.directives:
                raise _Bail  # @skip/@include depend on variables: graphql-core decides
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                groups.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(condition.name.value, type_):
                    self._collect(type_, selection.selection_set, groups, visited)
            elif isinstance(selection, FragmentSpreadNode):
                if selection.name.value in visited:
                    continue
                visited.add(selection.name.value)
                fragment = self.fragments[selection.name.value]
                if fragment.directives:
                    raise _Bail
                if self._applies(fragment.type_condition.name.value, type_):
                    self._collect(type_, fragment.selection_set, groups, visited)

    def _applies(self, condition: str, type_: GraphQLObjectType) -> bool:
        named = self.schema.get_type(condition)
        if named is type_:
            return True
        return is_abstract_type(named) and self.schema.is_sub_type(named, type_)

    def _field_plan(self, type_: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> _FieldPlan:
        node = nodes[0]
        name = node.name.value
        if name == "__typename":
            return _FieldPlan(key, name, None, node, True, _identity)
        definition = type_.fields.get(name)
        if definition is None:  # __schema, __type: introspection stays with graphql-core
            raise _Bail
        subsets = [n.selection_set for n in nodes if n.selection_set is not None]
        resolve = definition.resolve
        basic = bool(getattr(resolve, "_is_default", False))
        complete = self._completer(definition.type, subsets)
        fields = tuple(nodes)
        direct = _direct(self.schema, definition, name, fields)
        return _FieldPlan(key, name, definition, node, basic, complete, direct, fields)

    def _completer(
        self, type_: GraphQLOutputType, subsets: Sequence[SelectionSetNode]
    ) -> Completer:
        if isinstance(type_, GraphQLNonNull):
            inner = self._completer(type_.of_type, subsets)

            def non_null(run: _Run, value: Any) -> Any:
                if value is None:
                    raise _Bail
                return inner(run, value)

            return non_null
        if isinstance(type_, GraphQLList):
            item = self._completer(type_.of_type, subsets)

            def listed(run: _Run, value: Any) -> Any:
                if value is None:
                    return None
                out = []
                for v in value:
                    if inspect.isawaitable(v):
                        raise _Bail  # lists of awaitables: not produced by this schema
                    out.append(item(run, v))
                return out

            return listed
        if is_leaf_type(type_):
            coerce = type_.coerce_output_value

            def leaf(run: _Run, value: Any) -> Any:
                if value is None:
                    return None
                coerced = coerce(value)
                if coerced is None or coerced is Undefined:
                    raise _Bail
                return coerced

            return leaf
        if isinstance(type_, GraphQLObjectType):
            plan = self.object_plan(type_, subsets)

            def obj(run: _Run, value: Any) -> Any:
                return None if value is None else plan.complete(run, value)

            return obj
        raise _Bail  # interfaces and unions: graphql-core resolves their runtime type


def _direct(
    schema: GraphQLSchema, definition: GraphQLField, name: str, nodes: tuple[FieldNode, ...]
) -> Callable[[_Run, Any], Any] | None:
    """The strawberry resolver of a field without field extensions, as a call of its function
    with the source as `self`, when it asks strawberry's Info, and its arguments when the
    document writes them out (no variables): converted to their Python values once, when the
    plan is made. Converting the handler list's filter on every request cost more than a
    tenth of its Python. The converted values are shared by every request of the plan: no
    resolver changes its arguments."""
    field: StrawberryField | None = (definition.extensions or {}).get("strawberry-definition")
    resolver = field.base_resolver if field is not None else None
    if field is None or resolver is None:
        return None
    # InputEdges checks arguments only: with arguments written out, once, here (below).
    if not all(isinstance(e, InputEdges) for e in field.extensions):
        return None
    if resolver.root_parameter or resolver.parent_parameter or not resolver.self_parameter:
        return None
    if not callable(resolver.wrapped_func):
        return None
    kwargs = _static_arguments(schema, definition, field, nodes) if field.arguments else {}
    if kwargs is None:
        return None
    if any(cast(InputEdges, e).problems(kwargs) for e in field.extensions):
        return None  # refused: strawberry's way words the refusal for each request's language
    func = resolver.wrapped_func
    info = resolver.info_parameter
    if info is None:
        return lambda run, source: func(source, **kwargs)
    python_name = info.name

    def with_info(run: _Run, source: Any) -> Any:
        raw = cast(GraphQLResolveInfo, _Info(run.context, name, nodes, run.fragments))
        return func(source, **kwargs, **{python_name: Info(_raw_info=raw, _field=field)})

    return with_info


def _static_arguments(
    schema: GraphQLSchema,
    definition: GraphQLField,
    field: StrawberryField,
    nodes: tuple[FieldNode, ...],
) -> dict[str, Any] | None:
    """The field's arguments as strawberry passes them to its resolver, when the document
    writes them out; None when one comes from a variable (then strawberry converts them per
    request) or they cannot be converted here (strawberry then says why)."""
    if len(nodes) != 1 or any(_has_variable(a.value) for a in nodes[0].arguments or ()):
        return None
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    if strawberry_schema is None:
        return None
    try:
        values = get_argument_values(definition, nodes[0])
        return dict(
            convert_arguments(
                values,
                field.arguments,
                scalar_registry=strawberry_schema.schema_converter.scalar_registry,
                config=strawberry_schema.config,
            )
        )
    except Exception:  # the request goes the usual way and gets the usual error
        return None


def _has_variable(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_has_variable(v) for v in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_has_variable(f.value) for f in value.fields)
    return False


def _identity(run: _Run, value: Any) -> Any:
    return value


class CompiledQueries:
    """Plans per (document, operation name), least recently used dropped beyond
    PLAN_CACHE_SIZE; None remembered for documents that stay with strawberry."""

    def __init__(
        self,
        schema: GraphQLSchema,
        rules: Collection[type[ASTValidationRule]],
        limits: Limits,
        *,
        hide_suggestions: bool = False,
    ) -> None:
        self.schema = schema
        self.rules = (*specified_rules, *rules)  # as strawberry's AddValidationRules makes them
        self.limits = limits
        self.hide_suggestions = hide_suggestions
        self._plans: OrderedDict[tuple[str, str | None], _Plan | None] = OrderedDict()

    def plan(self, query: str, operation_name: str | None) -> _Plan | None:
        key = (query, operation_name)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        plan = self._compile(query, operation_name)
        self._plans[key] = plan
        if len(self._plans) > PLAN_CACHE_SIZE:
            self._plans.popitem(last=False)
        return plan

    def _compile(self, query: str, operation_name: str | None) -> _Plan | None:
        document = parse_document(query, self.limits.max_tokens)
        # Validated as strawberry validates it (the limits of check_document_cost first, then
        # the same rules), remembered for both: a refused document is not validated twice.
        if not isinstance(document, DocumentNode) or validate_text(
            self.schema, query, self.limits, self.rules, self.hide_suggestions
        ):
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is None:
            chosen = operations if len(operations) == 1 else []
        else:
            chosen = [o for o in operations if o.name and o.name.value == operation_name]
        if len(chosen) != 1 or chosen[0].operation is not OperationType.QUERY:
            return None
        operation = chosen[0]
        if operation.directives or self.schema.query_type is None:
            return None
        compiler = _Compiler(self.schema, document)
        try:
            root = compiler.object_plan(self.schema.query_type, [operation.selection_set])
        except _Bail:
            return None
        return _Plan(operation, root, compiler.fragments)

    async def execute(
        self,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Any,
    ) -> dict[str, Any] | None:
        """The response's `data`, or None when strawberry is to execute this request."""
        plan = self.plan(query, operation_name)
        data = None if plan is None else await self._run(plan, variables, context)
        QUERY_PATHS["strawberry" if data is None else "compiled"] += 1
        return data

    async def _run(
        self, plan: _Plan, variables: dict[str, Any] | None, context: Any
    ) -> dict[str, Any] | None:
        coerced = get_variable_values(
            self.schema, plan.operation.variable_definitions or (), variables or {}
        )
        if not isinstance(coerced, VariableValues):
            return None  # the variables' errors, as strawberry words them
        run = _Run(context, coerced, plan.fragments)
        try:
            data = plan.root.complete(run, None)
            while run.pending:
                batch, run.pending = run.pending, []
                if len(batch) == 1:  # awaited in this task: gather would start another
                    try:
                        results = [await batch[0][0]]
                    except Exception as exc:  # as gather with return_exceptions
                        results = [exc]
                else:
                    results = await asyncio.gather(
                        *(awaitable for awaitable, _, _, _ in batch), return_exceptions=True
                    )
                for (_, out, key, complete), result in zip(batch, results, strict=True):
                    if isinstance(result, BaseException):
                        raise _Bail from result
                    out[key] = complete(run, result)
        except Exception:
            for awaitable, _, _, _ in run.pending:
                if inspect.iscoroutine(awaitable):
                    awaitable.close()  # never started: nothing to undo
            return None
        return data
