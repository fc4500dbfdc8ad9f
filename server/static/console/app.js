// The supervisor console (驾驶舱): signs in, turns away anyone who is not a supervisor,
// dispatcher or administrator (saying why), and shows the dashboard or, for administrators,
// the working calendar. Everything it shows comes from /graphql and /exports.

import { gql, signedIn, signIn, signOut } from "./api.js";
import { renderCalendar } from "./calendar.js";
import { renderDashboard } from "./dashboard.js";
import { clear, h } from "./dom.js";
import { go, presets, readState } from "./filter.js";
import { locale, pick, ROLE_NAMES, setLocale, t } from "./i18n.js";

const ALLOWED = ["SUPERVISOR", "DISPATCHER", "ADMIN"];
const root = document.getElementById("app");
let me = null;

function languageSwitch() {
  return h("button", {
    type: "button", name: "language", class: "no-print", lang: locale === "en" ? "zh-CN" : "en",
    onclick: () => { setLocale(locale === "en" ? "zh" : "en"); start(); },
  }, t("LANGUAGE"));
}

function signInForm(errors = []) {
  document.title = t("TITLE");
  const form = h("form", { class: "sign-in", onsubmit: submit },
    h("h1", {}, t("TITLE")),
    h("p", { class: "note" }, t("SIGN_IN_HINT")),
    h("label", {}, t("USERNAME"), h("input", { name: "username", autocomplete: "username", required: true })),
    h("label", {}, t("PASSWORD"),
      h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    errors.map((e) => h("p", { class: "error", role: "alert" }, e.message)),
    h("button", { type: "submit" }, t("SIGN_IN")),
    languageSwitch());
  clear(root, form);
  form.elements.username.focus();
}

async function submit(event) {
  event.preventDefault();
  const form = event.target;
  form.querySelector("button[type=submit]").disabled = true;
  try {
    const errors = await signIn(form.elements.username.value, form.elements.password.value);
    if (errors.length) return signInForm(errors);
    me = null;
    await start();
  } catch (err) {
    signInForm([{ message: err.message }]);
  }
}

async function end() {
  await signOut();
  me = null;
  signInForm();
}

function turnedAway(user) {
  const roles = [...new Set(user.grants.map((g) => pick(ROLE_NAMES[g.role]) || g.role))];
  clear(root,
    h("section", { class: "turned-away", role: "alert" },
      h("h1", {}, t("TITLE")),
      h("p", {}, t("TURNED_AWAY", { roles: roles.join("、") || t("NO_ROLE") })),
      h("button", { type: "button", name: "sign-out", onclick: end }, t("SIGN_OUT")),
      languageSwitch()));
}

function header(view) {
  const isAdmin = me.grants.some((g) => g.role === "ADMIN");
  return h("header", { class: "top" },
    h("h1", {}, t("TITLE")),
    h("nav", { class: "no-print" },
      h("a", { href: "#", class: view === "dashboard" ? "active" : null,
        onclick: (e) => { e.preventDefault(); go({ view: "" }); } }, t("DASHBOARD")),
      isAdmin && h("a", { href: "#", name: "calendar", class: view === "calendar" ? "active" : null,
        onclick: (e) => { e.preventDefault(); go({ view: "calendar", demand: "" }); } }, t("CALENDAR"))),
    h("span", { class: "user" }, me.displayName),
    h("button", { type: "button", name: "print", class: "no-print", onclick: () => window.print() }, t("PRINT")),
    languageSwitch(),
    h("button", { type: "button", name: "sign-out", class: "no-print", onclick: end }, t("SIGN_OUT")));
}

let rendering = 0;

async function render() {
  const turn = ++rendering;
  const state = readState();
  const isAdmin = me.grants.some((g) => g.role === "ADMIN");
  const view = state.view === "calendar" && isAdmin ? "calendar" : "dashboard";
  const body = h("div", { class: "view" });
  document.querySelector("aside.demand")?.remove();
  clear(root, header(view), body);
  root.dataset.state = "loading";
  try {
    if (view === "calendar") await renderCalendar(body, me);
    else await renderDashboard(body, me);
    // The charts draw on the next frame: ready once it has been painted.
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    if (turn === rendering) {
      root.dataset.state = "ready";
      performance.mark("console-ready");
    }
  } catch (err) {
    if (err.code === "UNAUTHENTICATED") return signInForm();
    // A filter the API refuses (a period too long, `to` before `from`): say why, and offer
    // the default view back.
    const [from, to] = presets().THIS_MONTH;
    clear(body,
      h("p", { class: "error", role: "alert" }, t("ERROR", { message: err.message })),
      h("button", { type: "button", name: "reset", onclick: () => go({ view: "", from, to, demand: "" }) },
        t("BACK_TO_DEFAULT")));
    root.dataset.state = "error";
  }
}

async function start() {
  document.documentElement.lang = locale === "en" ? "en" : "zh-CN";
  document.title = t("TITLE");
  if (!signedIn()) return signInForm();
  try {
    const data = await gql(`{ me { id username displayName grants { role region { id name } } } }`);
    me = data.me;
  } catch (err) {
    return signInForm(err.code === "UNAUTHENTICATED" ? [] : [{ message: err.message }]);
  }
  if (!me) return signInForm();
  if (!me.grants.some((g) => ALLOWED.includes(g.role))) return turnedAway(me);
  const allowed = me.grants.filter((g) => ALLOWED.includes(g.role));
  me.regionIds = allowed.some((g) => !g.region) ? [] : [...new Set(allowed.map((g) => g.region.id))];
  me.region = allowed.find((g) => g.region)?.region ?? null;
  await render();
}

window.addEventListener("statechange", () => me && render());
window.addEventListener("popstate", () => me && render());
window.addEventListener("resize", () => import("./charts.js").then((c) => c.resizeAll()));
start();
