"""Messages of the live connection (graphql-transport-ws): why a socket was refused or closed,
and why an operation sent over it was refused. A close reason carries `CODE: message`."""

from __future__ import annotations

LIVE_MESSAGES: dict[str, tuple[str, str]] = {
    # Told only to a socket that was signed in: the owner's own session, no account probing.
    "ACCOUNT_DISABLED": ("账号已停用", "This account is disabled"),
    "TOKEN_EXPIRED": (
        "登录已过期，请刷新登录后重新连接",
        "The sign-in has expired; renew it and reconnect",
    ),
    "SESSION_ENDED": (
        "登录已失效（已退出或已修改密码），请重新登录",
        "The session has ended (signed out or password changed); sign in again",
    ),
    "ROLES_CHANGED": (
        "账号的角色已变更，请重新连接",
        "The account's roles have changed; reconnect",
    ),
    "TOO_MANY_SOCKETS_FOR_ACCOUNT": (
        "该账号的实时连接已达上限（{max} 个），请关闭其他设备或页面后重试",
        "This account has the most live connections allowed ({max}); close another and retry",
    ),
    "TOO_MANY_SOCKETS_FROM_ADDRESS": (
        "来自该地址的实时连接已达上限，请稍后再试",
        "Too many live connections from this address; try again later",
    ),
    "TOO_MANY_SUBSCRIPTIONS": (
        "每个连接最多 {max} 个订阅",
        "At most {max} subscriptions per connection",
    ),
    "OPERATION_NEEDS_HTTP": (
        "查询和变更请通过 HTTP（POST /graphql）发送，WebSocket 连接只用于订阅",
        "Send queries and mutations over HTTP (POST /graphql); the WebSocket is for subscriptions",
    ),
    "INVALID_SUBSCRIBE_MESSAGE": (
        "订阅消息的内容须为含查询文本的 JSON 对象",
        "A subscribe message must carry a JSON object with the query text",
    ),
}
