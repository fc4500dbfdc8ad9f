// One demand: its timeline as a vertical time line, who did what and how many working days
// each step took (counted with the region's working calendar from `workingCalendar`).

import { gql } from "./api.js";
import { clear, h } from "./dom.js";
import { remember } from "./filter.js";
import { ACTION_NAMES, pick, STATE_NAMES, t } from "./i18n.js";

const DEMAND_QUERY = `query Demand($id: ID!) { demand(id: $id) {
  id number title state effectiveDeadline overdue remainingWorkingDays submittedAt
  enterprise { name region { id } } department { name } category { name }
  timeline { id action at fromState toState note actorName } } }`;

const shanghaiDay = (iso) =>
  new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date(iso));
const shanghaiTime = (iso) =>
  new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  }).format(new Date(iso));

// Working days after `from` up to and including `to` (YYYY-MM-DD): weekdays that are not
// holidays, and make-up working days (调休).
export function workingDaysBetween(from, to, special) {
  let count = 0;
  const day = new Date(`${from}T00:00:00Z`);
  const end = new Date(`${to}T00:00:00Z`);
  while (day < end) {
    day.setUTCDate(day.getUTCDate() + 1);
    const key = day.toISOString().slice(0, 10);
    const weekday = day.getUTCDay() !== 0 && day.getUTCDay() !== 6;
    if (special.has(key) ? special.get(key) : weekday) count += 1;
  }
  return count;
}

async function calendar(years, regionId) {
  const fields = years.map((y) => `y${y}: workingCalendar(year: ${y}, regionId: $r) { days { date isWorkday } }`);
  const data = await gql(`query($r: ID) { ${fields.join(" ")} }`, { r: regionId });
  const special = new Map();
  for (const year of Object.values(data)) for (const d of year.days) special.set(d.date, d.isWorkday);
  return special;
}

let panel = null;

function close() {
  panel?.remove();
  panel = null;
  remember({ demand: "" });
}

export async function showDemand(id) {
  panel?.remove();
  panel = h("aside", { class: "demand", role: "dialog", "aria-modal": "true", "aria-label": t("TIMELINE") },
    h("p", { class: "loading" }, t("LOADING")));
  document.body.append(panel);
  const { demand } = await gql(DEMAND_QUERY, { id });
  if (!demand) return close();
  const days = demand.timeline.map((e) => shanghaiDay(e.at));
  const years = [...new Set(days.map((d) => Number(d.slice(0, 4))))];
  const special = await calendar(years, demand.enterprise.region.id);
  const header = h("header", {},
    h("h2", {}, h("span", { class: "number" }, demand.number), " ", demand.title),
    h("button", { type: "button", name: "close", class: "no-print", onclick: close }, t("CLOSE")));
  clear(
    panel,
    header,
    h("dl", { class: "facts" },
      h("dt", {}, t("ENTERPRISE")), h("dd", {}, demand.enterprise.name),
      h("dt", {}, t("DEPARTMENT")), h("dd", {}, demand.department?.name ?? "—"),
      h("dt", {}, t("CATEGORY")), h("dd", {}, demand.category?.name ?? "—"),
      h("dt", {}, t("STATE")), h("dd", {}, pick(STATE_NAMES[demand.state]) || demand.state),
      h("dt", {}, t("DEADLINE")), h("dd", { class: demand.overdue ? "overdue" : null },
        demand.effectiveDeadline ?? "—",
        demand.remainingWorkingDays !== null && demand.remainingWorkingDays < 0
          ? ` (${t("OVERDUE_DAYS", { days: -demand.remainingWorkingDays })})` : "")),
    h("h3", {}, t("TIMELINE")),
    h("ol", { class: "timeline" }, demand.timeline.map((event, i) =>
      h("li", { dataset: { action: event.action, id: event.id } },
        h("time", { datetime: event.at }, shanghaiTime(event.at)),
        h("span", { class: "action" }, pick(ACTION_NAMES[event.action]) || event.action),
        h("span", { class: "transition" },
          `${event.fromState ? pick(STATE_NAMES[event.fromState]) : ""} → ${pick(STATE_NAMES[event.toState])}`),
        h("span", { class: "who" }, t("BY", { name: event.actorName || t("SYSTEM") })),
        i > 0 && h("span", { class: "step-days" }, t("STEP_DAYS", { days: workingDaysBetween(days[i - 1], days[i], special) })),
        event.note && h("p", { class: "note" }, event.note)))),
  );
}
