"""What graphql-core says about a document (syntax, validation, variable values), in Simplified
Chinese. graphql-core words its messages in English from fixed templates; each template of
graphql-core 3.3 that a developer meets is written here beside its Chinese, and a message is
matched against them whole (the first that matches wins). English keeps graphql-core's own
words, which GraphQL's documentation and tooling use; a message no template matches reads the
generic Chinese of GRAPHQL_MESSAGES with its line and column, never English.

A placeholder `{name}` catches what graphql-core put there: the document's own names and
values, repeated in the Chinese. Placeholders named `token…` hold a lexer token or token kind
(worded in Chinese), `detail` a nested message (matched in turn: nothing English leaks from
inside), `path` the place inside a variable's value (" at .states[0]"); `rest` is graphql-core's
English remainder (a Python exception's text, the value printed again), left out."""

from __future__ import annotations

import re
from collections.abc import Sequence

GRAPHQL_TEMPLATES: tuple[tuple[str, str], ...] = (
    # --- syntax (GRAPHQL_PARSE_FAILED) -------------------------------------------------------
    (
        "Syntax Error: Expected {token_expected}, found {token}.",
        "此处应为{token_expected}，实际是{token}",
    ),
    ("Syntax Error: Unexpected '..', did you mean '...'?", "多了“..”：展开片段须写三个点“...”"),
    (
        "Syntax Error: Unexpected single quote character ('), did you mean to use a double "
        'quote (")?',
        "字符串须用双引号（\"）括起，不能用单引号（'）",
    ),
    (
        "Syntax Error: Unexpected variable '${name}' in constant value.",
        "常量值（如变量的默认值）中不能使用变量 ${name}",
    ),
    ("Syntax Error: Unexpected description, {rest}", "此处不能写描述文字（三引号字符串）"),
    ("Syntax Error: Unexpected character: {char}.", "无法识别的字符 {char}"),
    ("Syntax Error: Invalid character: {char}.", "无效字符 {char}"),
    ("Syntax Error: Unexpected {token}.", "此处不应出现{token}"),
    ("Syntax Error: Unterminated string.", "字符串缺少结尾的双引号"),
    ("Syntax Error: Invalid character within String: {char}.", "字符串中有无效字符 {char}"),
    ("Syntax Error: Invalid character escape sequence: {seq}.", "无效的转义序列 {seq}"),
    ("Syntax Error: Invalid Unicode escape sequence: {seq}.", "无效的 Unicode 转义序列 {seq}"),
    (
        "Syntax Error: Invalid number, expected digit but got: {char}.",
        "数字格式无效：此处应为数字，实际是 {char}",
    ),
    (
        "Syntax Error: Invalid number, unexpected digit after 0: {char}.",
        "数字格式无效：0 后面不能紧跟数字 {char}",
    ),
    (
        "Syntax Error: Invalid number, expected digit before '.', did you mean '{number}'?",
        "数字格式无效：小数点前须有数字（如 {number}）",
    ),
    (
        "Syntax Error: {token} is reserved and cannot be used for an enum value.",
        "{token}是保留字，不能用作枚举值",
    ),
    ("Syntax Error: Document is nested too deeply. Parsing aborted.", "查询的嵌套过深，已停止解析"),
    # --- the document against the schema (GRAPHQL_VALIDATION_FAILED) ------------------------
    ("Cannot query field '{field}' on type '{type}'.", "类型 {type} 上没有字段“{field}”"),
    (
        "Unknown argument '{argument}' on directive '@{directive}'.",
        "指令 @{directive} 没有参数“{argument}”",
    ),
    ("Unknown argument '{argument}' on field '{field}'.", "字段 {field} 没有参数“{argument}”"),
    (
        "Argument '@{directive}({argument}:)' of type '{type}' is required, but it was not "
        "provided.",
        "指令 @{directive} 缺少必填参数“{argument}”（类型 {type}）",
    ),
    (
        "Argument '{field}({argument}:)' of type '{type}' is required, but it was not provided.",
        "字段 {field} 缺少必填参数“{argument}”（类型 {type}）",
    ),
    ("Unknown type '{type}'.", "未知类型“{type}”"),
    ("Unknown fragment '{name}'.", "未定义的片段“{name}”"),
    ("Unknown directive '@{name}'.", "未知指令 @{name}"),
    (
        "Directive '@{name}' may not be used on {location}.",
        "指令 @{name} 不能用在此处（{location}）",
    ),
    (
        "The directive '@{name}' can only be used once at this location.",
        "指令 @{name} 在此处只能使用一次",
    ),
    ("Fragment '{name}' is never used.", "片段“{name}”已定义但没有使用"),
    (
        "Variable '${name}' is never used in operation '{operation}'.",
        "操作“{operation}”声明的变量 ${name} 没有使用",
    ),
    ("Variable '${name}' is never used.", "变量 ${name} 已声明但没有使用"),
    (
        "Variable '${name}' is not defined by operation '{operation}'.",
        "操作“{operation}”没有声明变量 ${name}",
    ),
    ("Variable '${name}' is not defined.", "变量 ${name} 没有声明"),
    (
        "Variable '${name}' of type '{type}' used in position expecting type '{expected}'.",
        "变量 ${name} 的类型是 {type}，此处需要 {expected}",
    ),
    (
        "Variable '${name}' cannot be non-input type '{type}'.",
        "变量 ${name} 的类型 {type} 不能用于输入",
    ),
    ("There can be only one variable named '${name}'.", "变量 ${name} 重复声明"),
    (
        "Field '{field}' of type '{type}' must have a selection of subfields.",
        "字段“{field}”的类型是 {type}，须用花括号选择它的子字段",
    ),
    (
        "Field '{field}' of type '{type}' must have at least one field selected.",
        "字段“{field}”的类型是 {type}，须至少选择一个子字段",
    ),
    (
        "Field '{field}' must not have a selection since type '{type}' has no subfields.",
        "字段“{field}”的类型 {type} 没有子字段，不能再选择",
    ),
    ("There can be only one operation named '{name}'.", "操作名“{name}”重复"),
    (
        "This anonymous operation must be the only defined operation.",
        "文档中有多个操作时，每个操作都须有名字",
    ),
    ("There can be only one fragment named '{name}'.", "片段名“{name}”重复"),
    ("There can be only one argument named '{name}'.", "参数“{name}”重复"),
    ("There can be only one input field named '{name}'.", "输入字段“{name}”重复"),
    (
        "Fields '{name}' conflict because {rest}",
        "同一位置的“{name}”指向不同的字段或参数，请为它们取不同的别名",
    ),
    (
        "Fragment '{name}' cannot be spread here as objects of type '{parent}' can never be "
        "of type '{type}'.",
        "片段“{name}”不能在此展开：{parent} 类型的对象不可能是 {type}",
    ),
    (
        "Fragment cannot be spread here as objects of type '{parent}' can never be of type "
        "'{type}'.",
        "内联片段不能在此展开：{parent} 类型的对象不可能是 {type}",
    ),
    (
        "Cannot spread fragment '{name}' within itself via {via}.",
        "片段“{name}”经由 {via} 展开了自己（循环引用）",
    ),
    ("Cannot spread fragment '{name}' within itself.", "片段“{name}”展开了自己（循环引用）"),
    (
        "Fragment '{name}' cannot condition on non composite type '{type}'.",
        "片段“{name}”的类型条件 {type} 不是对象、接口或联合类型",
    ),
    (
        "Fragment cannot condition on non composite type '{type}'.",
        "内联片段的类型条件 {type} 不是对象、接口或联合类型",
    ),
    ("The {name} definition is not executable.", "文档只能包含操作和片段，不能包含定义 {name}"),
    ("The {operation} operation is not supported by the schema.", "此接口不支持 {operation} 操作"),
    ("{subscription} must select only one top level field.", "订阅只能选择一个顶层字段"),
    ("{subscription} must not select an introspection top level field.", "订阅不能选择内省字段"),
    (
        "GraphQL introspection has been disabled, but the requested query contained the field "
        "'{field}'.",
        "此服务器已关闭内省查询，不能查询字段“{field}”",
    ),
    ("Maximum introspection depth exceeded", "内省查询的嵌套过深"),
    # --- values written in the document or sent as variables ---------------------------------
    (
        "Expected value of type '{type}' not to include unknown field '{field}'{rest}",
        "输入类型 {type} 没有字段“{field}”",
    ),
    (
        "Expected value of type '{type}' to include required field '{field}', found: {rest}",
        "输入类型 {type} 缺少必填字段“{field}”",
    ),
    (
        "Expected value of type '{type}' to be an object, found: {value}.",
        "此处须为 {type} 类型的对象，实际是 {value}",
    ),
    (
        "Expected a value of non-null type '{type}' to be provided.",
        "须提供 {type} 类型的值，不能省略",
    ),
    ("Expected value of non-null type '{type}' not to be None.", "{type} 类型的值不能为 null"),
    (
        "Expected variable '${name}' provided to non-null type '{type}' not to be None.",
        "变量 ${name} 用于 {type} 类型，其值不能为 null",
    ),
    (
        "Expected variable '${name}' provided to type '{type}' to provide a runtime value.",
        "变量 ${name} 用于 {type} 类型，须提供它的值",
    ),
    ("Expected value of type '{type}', but encountered error {rest}", "此处须为 {type} 类型的值"),
    (
        "Expected value of type '{type}', found: {value}.",
        "此处须为 {type} 类型的值，实际是 {value}",
    ),
    (
        "Expected value of type '{type}' to be valid, found: {value}.",
        "此处须为 {type} 类型的值，实际是 {value}",
    ),
    ("Value '{value}' does not exist in '{enum}' enum.", "枚举 {enum} 中没有取值“{value}”"),
    (
        "Enum '{enum}' cannot represent non-enum value: {value}.",
        "枚举 {enum} 须取它的一个值（不加引号），实际是 {value}",
    ),
    (
        "Enum '{enum}' cannot represent non-string value: {value}.",
        "枚举 {enum} 须取它的一个值，实际是 {value}",
    ),
    ("Int cannot represent non-integer value: {value}", "Int 须为整数，实际是 {value}"),
    (
        "Int cannot represent non 32-bit signed integer value: {value}",
        "Int 须为 32 位有符号整数，{value} 超出了范围",
    ),
    ("Float cannot represent non numeric value: {value}", "Float 须为数字，实际是 {value}"),
    ("String cannot represent a non string value: {value}", "String 须为字符串，实际是 {value}"),
    (
        "Boolean cannot represent a non boolean value: {value}",
        "Boolean 须为 true 或 false，实际是 {value}",
    ),
    (
        "ID cannot represent a non-string and non-integer value: {value}",
        "ID 须为字符串或整数，实际是 {value}",
    ),
    ("ID cannot represent value: {value}", "ID 须为字符串或整数，实际是 {value}"),
    (
        'Value cannot represent a DateTime: "{value}".{rest}',
        "“{value}”不是有效的日期时间（须为带时区的 ISO 8601 格式，如 2026-11-26T10:02:00+08:00）",
    ),
    (
        'Value cannot represent a Date: "{value}".{rest}',
        "“{value}”不是有效的日期（须为 YYYY-MM-DD，如 2026-11-26）",
    ),
    (
        'Value cannot represent a Time: "{value}".{rest}',
        "“{value}”不是有效的时间（须为 HH:MM 或 HH:MM:SS）",
    ),
    ('Value cannot represent a {type}: "{value}".{rest}', "“{value}”不是有效的 {type}"),
    # The schema's own literal checks (schema.input_edges).
    ("JSON integers must fit in 64 bits", "JSON 中的整数须在 64 位以内"),
    ("JSON numbers must be finite", "JSON 中的数字须为有限值"),
    # --- variables (GRAPHQL_INVALID_VARIABLES) -----------------------------------------------
    (
        "Variable '${name}' has invalid value{path}: {detail}",
        "变量 ${name}{path}：{detail}",
    ),
    (
        "Variable '${name}' has invalid default value{path}: {detail}",
        "变量 ${name}{path}的默认值：{detail}",
    ),
    (
        "Argument '{argument}' has invalid value{path}: {detail}",
        "参数“{argument}”{path}：{detail}",
    ),
    (
        "Argument '{argument}' of required type '{type}' was not provided.",
        "缺少必填参数“{argument}”（类型 {type}）",
    ),
    (
        "Too many errors processing variables, error limit reached. Execution aborted.",
        "变量的错误过多，已停止处理",
    ),
)

# Messages of this catalogue itself (models.messages takes them in).
GRAPHQL_MESSAGES: dict[str, tuple[str, str]] = {
    "GRAPHQL_ERROR_AT": (
        "第 {line} 行第 {column} 列有误，请对照接口文档检查",
        "Line {line}, column {column} is in error; check it against the API documentation",
    ),
    "GRAPHQL_ERROR": ("请对照接口文档检查", "Check it against the API documentation"),
}

_TOKEN_KINDS = {
    "<EOF>": "文档结尾",
    "<SOF>": "文档开头",
    "Name": "名称",
    "Int": "整数",
    "Float": "浮点数",
    "String": "字符串",
    "BlockString": "块字符串",
    "Comment": "注释",
}
# graphql-core's " Did you mean 'a', 'b', or 'c'?" (did_you_mean), with or without a phrase
# before the names ("the enum value", "to use an inline fragment on").
_SUGGESTION = re.compile(r" Did you mean (?:[a-z ]+ )?((?:'[^']*'(?:, or |, | or )?)+)\?")
_PATTERNS = {"path": r"(?: at [^:]*)?"}


def _compiled(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(
        re.escape(p) if i % 2 == 0 else f"(?P<{p}>{_PATTERNS.get(p, '.*?')})"
        for i, p in enumerate(parts)
    )
    return re.compile(f"^{regex}$", re.DOTALL)


_COMPILED = tuple((_compiled(en), zh) for en, zh in GRAPHQL_TEMPLATES)


def _token(description: str) -> str:
    """A lexer token or token kind as graphql-core describes it ("<EOF>", "Name 'x'", "'}'")."""
    kind, _, value = description.partition(" ")
    if kind in _TOKEN_KINDS:
        return _TOKEN_KINDS[kind] + (f" {_quoted(value)}" if value else "")
    return _quoted(description)


def _quoted(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return f"“{text[1:-1]}”"
    return text


def _path(text: str) -> str:
    """The place inside a variable's value, " at .states[0]", as " 中 states[0] 处"."""
    place = text.removeprefix(" at ").removeprefix(".")
    return f" 中 {place} 处" if place else ""


def _requoted(text: str) -> str:
    """graphql-core's 'quoted' names (a character, a fragment path) in Chinese quotes."""
    return re.sub(r"'([^']*)'", r"“\1”", text)


def _names(suggestion: str) -> Sequence[str]:
    return re.findall(r"'([^']*)'", suggestion)


def graphql_detail_zh(text: str) -> str | None:
    """graphql-core's message `text` in Chinese, or None when no template matches it (or the
    message it nests). Suggestions ("Did you mean …?", development only) are kept as the
    names they suggest."""
    found = _SUGGESTION.search(text)
    suggested: Sequence[str] = ()
    if found is not None:
        suggested = _names(found.group(1))
        text = text[: found.start()] + text[found.end() :]
    for regex, zh in _COMPILED:
        match = regex.match(text)
        if match is None:
            continue
        params: dict[str, str] = {}
        for name, value in match.groupdict().items():
            if name.startswith("token"):
                params[name] = _token(value)
            elif name == "path":
                params[name] = _path(value)
            elif name == "detail":
                inner = graphql_detail_zh(value)
                if inner is None:
                    return None
                params[name] = inner
            elif name == "value":  # the client's value as printed: left as it is
                params[name] = value
            else:
                params[name] = _requoted(value)
        worded = zh.format(**params)
        if suggested:
            worded += "（相近的名称：" + "、".join(f"“{n}”" for n in suggested) + "）"
        return worded
    return None
