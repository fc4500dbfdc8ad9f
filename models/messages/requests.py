"""Messages of refused GraphQL requests: malformed HTTP requests, documents over the limits,
documents that do not parse or validate, and text with characters no field may hold."""

from __future__ import annotations

REQUEST_MESSAGES: dict[str, tuple[str, str]] = {
    # Slow clients, answered by the HTTP protocol itself (server.http_protocol).
    "REQUEST_HEAD_TIMEOUT": (
        "请求发送超时，请重新发送",
        "The request took too long to arrive; please send it again",
    ),
    "REQUEST_BODY_TIMEOUT": (
        "请求内容发送过慢或中断，请重新发送",
        "The request body arrived too slowly or stalled; please send it again",
    ),
    "TOO_MANY_CONNECTIONS": (
        "您所在地址的未完成连接过多，请稍后重试",
        "Too many unfinished connections from your address; please try again shortly",
    ),
    "INVALID_JSON": ("请求体不是有效的 JSON", "The request body is not valid JSON"),
    "BATCH_NOT_SUPPORTED": (
        "请求体须为一个 JSON 对象，不支持批量请求",
        "The request body must be one JSON object; batching is not supported",
    ),
    "QUERY_REQUIRED": ("请求中没有 GraphQL 查询文本", "No GraphQL query in the request"),
    "INVALID_VARIABLES": ("请求中的变量须为 JSON 对象", "The request's variables must be a JSON object"),
    "INVALID_OPERATION_NAME": ("操作名须为字符串", "The operation name must be a string"),
    "INVALID_EXTENSIONS": (
        "请求中的扩展信息须为 JSON 对象",
        "The request's extensions must be a JSON object",
    ),
    "UNSUPPORTED_MEDIA_TYPE": (
        "请以 application/json 或 multipart/form-data 格式发送请求",
        "Send the request as application/json or multipart/form-data",
    ),
    "URI_TOO_LONG": (
        "请求地址不能超过 {max} KB，较长的查询请用 POST 发送",
        "The request URL must be at most {max} KB; send longer queries with POST",
    ),
    "VARIABLES_TOO_DEEP": (
        "请求中变量的嵌套不能超过 {max} 层",
        "The request's variables may nest at most {max} levels deep",
    ),
    "INVALID_CHARACTERS": (
        "请求中含有不允许的字符（NUL 空字符或不成对的 UTF-16 代理项）",
        "The request holds characters that are not allowed (NUL or an unpaired UTF-16 surrogate)",
    ),
    "NUMBER_OUT_OF_RANGE": (
        "请求中的数字超出范围（整数须在 64 位以内，且不能是 NaN 或无穷大）",
        "The request holds a number out of range (integers must fit in 64 bits; no NaN or "
        "infinity)",
    ),
    "CONTROL_CHARACTERS": (
        "{label}含有不可见的控制字符，请删除后重试",
        "{label} holds invisible control characters; remove them and try again",
    ),
    "QUERY_TOO_DEEP": ("查询的嵌套不能超过 {max} 层", "The query may nest at most {max} levels"),
    "TOO_MANY_ALIASES": (
        "查询中的别名不能超过 {max} 个",
        "The query may use at most {max} aliases",
    ),
    "TOO_MANY_TOKENS": (
        "查询过长（不能超过 {max} 个词法单元）",
        "The query is too long (at most {max} tokens)",
    ),
    "QUERY_TOO_LONG": (
        "查询过长（不能超过 {max} 个字符）",
        "The query is too long (at most {max} characters)",
    ),
    "TOO_MANY_OPERATIONS": (
        "一个查询文档中的操作不能超过 {max} 个",
        "A query document may hold at most {max} operations",
    ),
    "TOO_MANY_FIELDS": (
        "查询选择的字段过多（片段在每处展开后合计不能超过 {max} 个）",
        "The query selects too many fields (at most {max}, counting a fragment wherever it "
        "is spread)",
    ),
    "FIELD_REPEATED": (
        "同一位置的同名字段（含片段中的）不能超过 {max} 个",
        "A field may be selected at most {max} times in one place (fragments included)",
    ),
    "TOO_MANY_VARIABLES": (
        "一个操作声明的变量不能超过 {max} 个",
        "An operation may declare at most {max} variables",
    ),
    "TOO_MANY_DIRECTIVES": (
        "同一位置的指令不能超过 {max} 个",
        "At most {max} directives may be used in one place",
    ),
    "TOO_MANY_ARGUMENTS": (
        "一个字段或指令的参数不能超过 {max} 个",
        "A field or directive may take at most {max} arguments",
    ),
    "VALUE_TOO_LARGE": (
        "查询中直接写出的值过大（一个值不能超过 {max} 项），较大的值请通过变量传递",
        "A value written in the query may hold at most {max} items; pass larger values as "
        "variables",
    ),
    "TOO_MANY_VALUES": (
        "查询中直接写出的值过多（合计不能超过 {max} 项），较大的值请通过变量传递",
        "The values written in the query may hold at most {max} items in all; pass larger "
        "values as variables",
    ),
    "GRAPHQL_PARSE_FAILED": (
        "GraphQL 查询有语法错误：{detail}",
        "The query does not parse: {detail}",
    ),
    "GRAPHQL_VALIDATION_FAILED": ("GraphQL 查询无效：{detail}", "The query is not valid: {detail}"),
    "GRAPHQL_INVALID_VARIABLES": (
        "变量取值无效：{detail}",
        "A variable's value is not valid: {detail}",
    ),
    "UNKNOWN_OPERATION": (
        "无法确定要执行的操作，请检查操作名",
        "Cannot tell which operation to run; check the operation name",
    ),
    "MUTATION_NEEDS_POST": (
        "GET 请求只能执行查询，变更（mutation）请用 POST 发送",
        "GET requests run queries only; send mutations with POST",
    ),
    "SUBSCRIPTION_NEEDS_WEBSOCKET": (
        "订阅（subscription）须通过 WebSocket 连接",
        "Subscriptions run over the WebSocket connection",
    ),
}
