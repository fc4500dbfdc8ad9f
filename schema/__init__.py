"""The GraphQL face: types, inputs, queries, mutations, loaders, permissions, error mapping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import cache

import strawberry
from graphql import GraphQLError
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, SchemaExtension
from strawberry.scalars import JSON
from strawberry.schema.name_converter import NameConverter
from strawberry.types import ExecutionContext
from strawberry.types.base import get_object_definition

from schema.compiled import CompiledQueries
from schema.datetimes import DATE_SCALAR, DATETIME_SCALAR
from schema.errors import CodedMaskErrors, log_errors, should_mask
from schema.input_edges import JSON_SCALAR, guard_inputs
from schema.mutations.agency import AgencyMutations
from schema.mutations.auth import AuthMutations
from schema.mutations.calendar import CalendarMutations
from schema.mutations.demands import DemandMutations
from schema.mutations.enterprises import EnterpriseMutations
from schema.mutations.files import FileMutations
from schema.mutations.org import OrgMutations
from schema.mutations.policy import PolicyMutations
from schema.mutations.service_points import ServicePointMutations
from schema.mutations.support_policies import SupportPolicyMutations
from schema.mutations.visits import VisitMutations
from schema.notification_api import NotificationMutations, PushOperatorMutations
from schema.queries import Query
from schema.request_limits import (
    DocumentLimits,
    Limits,
    TextLiteralRule,
    alias_rule,
    depth_rule,
)
from schema.sign_in_alone import SignInAloneRule
from schema.subscriptions import Subscription
from schema.suggestions import ExecutorWithoutSuggestions
from schema.types.demands import DemandEvent
from schema.types.enterprises import EnterpriseContact, LeaderAssignment
from schema.types.files import Attachment
from schema.types.users import RoleGrant


@strawberry.type
class Mutation(
    AuthMutations,
    OrgMutations,
    EnterpriseMutations,
    CalendarMutations,
    PolicyMutations,
    DemandMutations,
    FileMutations,
    SupportPolicyMutations,
    VisitMutations,
    NotificationMutations,
    PushOperatorMutations,
    ServicePointMutations,
    AgencyMutations,
):
    pass


# Mutations that never write what a signed-in actor is made of (accounts, grants, sessions,
# region paths): after them a process keeps its session cache (models.session_cache). Any
# other mutation empties it, so a new mutation is treated as changing sessions until listed.
SESSION_NEUTRAL_MUTATIONS = frozenset(
    NameConverter().get_graphql_name(field)
    for group in (
        DemandMutations,
        VisitMutations,
        AgencyMutations,
        FileMutations,
        CalendarMutations,
        PolicyMutations,
        SupportPolicyMutations,
        NotificationMutations,
    )
    for field in get_object_definition(group, strict=True).fields
)


@cache
def limit_rules(limits: Limits, production: bool = False) -> list[type[ASTValidationRule]]:
    """The validation rules of the limits (and, in production, no introspection). The depth
    and alias rules are new classes per limit, and the validation caches key on the rule
    classes: built once per limits, or every request re-validates; strawberry's operations and
    the compiled queries validate with the same ones, so a document is validated once.
    (check_document_cost applies the depth and alias limits before validation already; the
    rules keep them for a document validated without it.)"""
    rules = [
        depth_rule(limits.max_depth),
        alias_rule(limits.max_aliases),
        TextLiteralRule,
        SignInAloneRule,
    ]
    return [*rules, NoSchemaIntrospectionCustomRule] if production else rules


def compiled_queries(
    schema: strawberry.Schema, limits: Limits | None = None, *, production: bool = False
) -> CompiledQueries:
    """The compiled query path (schema.compiled) over this schema, with the same limits."""
    limits = limits or Limits()
    rules = limit_rules(limits, production)
    return CompiledQueries(schema._schema, rules, limits, hide_suggestions=production)


class DeskSchema(strawberry.Schema):
    """strawberry's schema, logging refusals as such (schema.errors.log_errors)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors)


def build_schema(*, production: bool = False, limits: Limits | None = None) -> strawberry.Schema:
    limits = limits or Limits()
    rules = limit_rules(limits, production)
    # Factories: each request gets fresh extension instances; the parse and validation
    # caches of DocumentLimits are kept at module level, so they are shared all the same.
    # Production validates and executes without "Did you mean …?" (schema.suggestions).
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: DocumentLimits(limits, hide_suggestions=production),
        lambda: AddValidationRules(rules),  # in production: strawberry's DisableIntrospection
    ]
    if production:
        extensions.append(
            lambda: CodedMaskErrors(should_mask_error=should_mask, error_message="服务器内部错误")
        )
    guard_inputs(Query, Mutation, Subscription)  # dates, search text: schema.input_edges
    return DeskSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=ExecutorWithoutSuggestions if production else None,
        # Types reachable only through node(id:) must still be in the schema.
        types=[RoleGrant, EnterpriseContact, LeaderAssignment, Attachment, DemandEvent],
        scalar_overrides={JSON: JSON_SCALAR, datetime: DATETIME_SCALAR, date: DATE_SCALAR},
    )
