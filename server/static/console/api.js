// The console's only way to the server: POST /graphql and GET /exports, with the bearer token.
//
// Tokens: the access and refresh tokens live in this module's memory and in sessionStorage
// (this tab only, gone when it closes; never localStorage, which every tab and every later
// visitor of the profile could read), so a reload keeps the session. An expired access token is
// traded once for a new pair (refreshToken). Signing out calls `logout`, which ends the
// session on the server, then forgets both.

import { acceptLanguage, t } from "./i18n.js";

const SESSION_KEY = "enterprise-desk.console.session";

let session = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");

function keep(value) {
  session = value;
  if (value) sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(SESSION_KEY);
}

export const signedIn = () => session !== null;

export class ApiError extends Error {
  constructor(code, message, field = null) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

async function post(query, variables, token) {
  const headers = {
    "Content-Type": "application/json",
    Accept: "application/graphql-response+json, application/json",
    "Accept-Language": acceptLanguage(),
  };
  if (token) headers.Authorization = `Bearer ${token}`;
  let resp;
  try {
    resp = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new ApiError("NETWORK", t("NETWORK"));
  }
  return resp.json();
}

// Run a query or mutation; returns `data`, throws ApiError on a GraphQL error (after one token
// refresh when the access token has expired). Payload errors (`errors { code … }` of a
// mutation) are the caller's to read.
export async function gql(query, variables = {}) {
  let body = await post(query, variables, session?.accessToken);
  if (codeOf(body) === "UNAUTHENTICATED" && session?.refreshToken && (await refresh())) {
    body = await post(query, variables, session.accessToken);
  }
  if (body.errors && body.errors.length) {
    const [first] = body.errors;
    if (codeOf(body) === "UNAUTHENTICATED") keep(null);
    throw new ApiError(codeOf(body) || "ERROR", first.message);
  }
  return body.data;
}

const codeOf = (body) => body?.errors?.[0]?.extensions?.code || null;

async function refresh() {
  const body = await post(
    `mutation($t: String!) { refreshToken(input: {refreshToken: $t}) {
       accessToken refreshToken errors { code message } } }`,
    { t: session.refreshToken },
  );
  const payload = body?.data?.refreshToken;
  if (!payload || payload.errors.length || !payload.accessToken) {
    keep(null);
    return false;
  }
  keep({ accessToken: payload.accessToken, refreshToken: payload.refreshToken });
  return true;
}

// Sign in; returns [] or the payload's errors ({code, field, message}).
export async function signIn(username, password) {
  const data = await gql(
    `mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
       accessToken refreshToken errors { code field message } } }`,
    { u: username, p: password },
  );
  const payload = data.login;
  if (payload.errors.length === 0) {
    keep({ accessToken: payload.accessToken, refreshToken: payload.refreshToken });
  }
  return payload.errors;
}

// End the session on the server (the refresh token's session, whose access tokens stop
// working), then forget the tokens whatever the answer.
export async function signOut() {
  if (!session) return;
  try {
    await gql(
      `mutation($t: String) { logout(input: {refreshToken: $t}) { ok errors { code message } } }`,
      { t: session.refreshToken },
    );
  } finally {
    keep(null);
  }
}

// Every node of a connection, page by page (`$after` and `first: 100` in the query).
export async function all(query, variables, pathOf) {
  const nodes = [];
  let after = null;
  for (;;) {
    const connection = pathOf(await gql(query, { ...variables, after }));
    nodes.push(...connection.edges.map((e) => e.node));
    if (!connection.pageInfo.hasNextPage) return nodes;
    after = connection.pageInfo.endCursor;
  }
}

// Download /exports/<slug>.xlsx for the filter's query parameters as a file.
export async function download(slug, params) {
  const query = new URLSearchParams(params).toString();
  const send = () =>
    fetch(`/exports/${slug}.xlsx?${query}`, {
      headers: { Authorization: `Bearer ${session?.accessToken}`, "Accept-Language": acceptLanguage() },
    });
  let resp = await send();
  if (resp.status === 401 && session?.refreshToken && (await refresh())) resp = await send();
  if (!resp.ok) {
    const body = await resp.json().catch(() => ({}));
    const error = body.errors?.[0] || {};
    throw new ApiError(error.code || String(resp.status), error.message || resp.statusText);
  }
  const disposition = resp.headers.get("Content-Disposition") || "";
  const utf8 = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  const name = utf8 ? decodeURIComponent(utf8[1]) : plain ? plain[1] : `${slug}.xlsx`;
  const url = URL.createObjectURL(await resp.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
