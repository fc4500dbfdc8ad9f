// The working-day calendar (administrators): a year's holidays and make-up working days
// (调休), as `workingCalendar` gives them, unconfirmed years marked. A system administrator
// edits the national arrangement (`setCalendarYear`, `clearCalendarYear` back to the shipped
// one); an administrator of a region sees it and adds the region's own days
// (`setRegionCalendarDays`: a local day off, or a make-up day it does not keep).

import { gql } from "./api.js";
import { clear, h } from "./dom.js";
import { go, readState, today } from "./filter.js";
import { t } from "./i18n.js";

const CALENDAR = `query($y: Int!, $r: ID) { workingCalendar(year: $y, regionId: $r) {
  year confirmed entered note days { date isWorkday name source } } }`;
const PAYLOAD = "calendar { year confirmed entered } errors { code field message }";

const weekday = (date) => {
  const d = new Date(`${date}T00:00:00Z`).getUTCDay();
  return d !== 0 && d !== 6;
};

export async function renderCalendar(root, me) {
  const thisYear = Number(today().slice(0, 4));
  const year = Number(readState().year) || thisYear;
  const systemAdmin = me.grants.some((g) => g.role === "ADMIN" && !g.region);
  const region = me.grants.find((g) => g.role === "ADMIN" && g.region)?.region ?? null;
  const [cal, next] = await Promise.all([
    gql(CALENDAR, { y: year, r: systemAdmin ? null : region?.id ?? null }).then((d) => d.workingCalendar),
    gql(`query($y: Int!) { workingCalendar(year: $y) { confirmed } }`, { y: thisYear + 1 }),
  ]);
  const national = cal.days.filter((d) => d.source !== "REGION");
  const status = h("p", { class: "status", role: "status" });
  const list = (isWorkday) =>
    h("table", { class: "days", dataset: { workday: String(isWorkday) } },
      h("thead", {}, h("tr", {}, h("th", {}, t("DATE")), h("th", {}, t("HOLIDAY_NAME")), h("th"))),
      h("tbody", {}, national.filter((d) => d.isWorkday === isWorkday).map((d) => row(d.date, d.name, !systemAdmin))),
      systemAdmin && h("tfoot", { class: "no-print" }, h("tr", {}, h("td", { colspan: 3 },
        h("button", { type: "button", name: "add", onclick: (e) => e.target.closest("table").tBodies[0].append(row("", "")) },
          t("ADD_DAY"))))));
  const holidays = list(false);
  const workdays = list(true);
  const note = h("input", { name: "note", value: cal.note, maxlength: 200 });
  const collect = (table, keep) =>
    [...table.tBodies[0].rows]
      .map((tr) => ({ date: tr.querySelector("[name=date]").value, name: tr.querySelector("[name=name]").value }))
      .filter((d) => d.date && keep(d.date));
  const run = async (mutation, input) => {
    clear(status);
    const data = await gql(mutation, { input });
    const payload = Object.values(data)[0];
    if (payload.errors.length) {
      clear(status, payload.errors.map((e) => t("ERROR", { message: e.message })).join(" "));
      status.className = "status error";
    } else {
      go({ view: "calendar", year: String(year) }, { replace: true });
    }
  };
  clear(
    root,
    h("section", { class: "panel calendar" },
      h("h2", {}, t("CALENDAR"), " ",
        h("select", { name: "year", onchange: (e) => go({ view: "calendar", year: e.target.value }) },
          [thisYear - 1, thisYear, thisYear + 1, thisYear + 2].map((y) =>
            h("option", { value: y, selected: y === year }, y)))),
      h("p", { class: cal.confirmed ? "confirmed" : "unconfirmed", dataset: { confirmed: String(cal.confirmed) } },
        cal.confirmed ? t("CONFIRMED") : t("UNCONFIRMED")),
      !next.workingCalendar.confirmed && year !== thisYear + 1 &&
        h("p", { class: "unconfirmed" }, `${thisYear + 1}: ${t("UNCONFIRMED")}`),
      h("div", { class: "row" },
        h("div", {}, h("h3", {}, t("HOLIDAYS")), holidays),
        h("div", {}, h("h3", {}, t("MAKEUP_DAYS")), workdays)),
      systemAdmin ? nationalControls() : regionDays(),
      status),
  );

  function nationalControls() {
    return h("div", {},
      h("label", {}, t("NOTE"), note),
      h("div", { class: "controls no-print" },
        h("button", { type: "button", name: "save", onclick: () => run(
          `mutation($input: SetCalendarYearInput!) { setCalendarYear(input: $input) { ${PAYLOAD} } }`,
          { year, note: note.value, holidays: collect(holidays, weekday), workdays: collect(workdays, (d) => !weekday(d)) },
        ) }, t("SAVE_YEAR")),
        cal.entered && h("button", { type: "button", name: "clear-year", onclick: () => run(
          `mutation($input: ClearCalendarYearInput!) { clearCalendarYear(input: $input) { ${PAYLOAD} } }`,
          { year },
        ) }, t("CLEAR_YEAR"))));
  }

  // The region's own days, and a form to add one.
  function regionDays() {
    const own = cal.days.filter((d) => d.source === "REGION");
    const date = h("input", { type: "date", name: "region-date", min: `${year}-01-01`, max: `${year}-12-31` });
    const kind = h("select", { name: "region-workday" },
      h("option", { value: "false" }, t("LOCAL_DAY_OFF")), h("option", { value: "true" }, t("LOCAL_WORKDAY")));
    const name = h("input", { name: "region-name", maxlength: 64 });
    return h("div", { class: "region-days" },
      h("h3", {}, t("REGION_DAYS", { region: region?.name ?? "" })),
      own.length === 0 ? h("p", { class: "note" }, t("NONE"))
        : h("ul", {}, own.map((d) => h("li", {}, `${d.date} ${d.name} · ${d.isWorkday ? t("LOCAL_WORKDAY") : t("LOCAL_DAY_OFF")}`))),
      h("p", { class: "note" }, t("NATIONAL_BY_SYSTEM_ADMIN")),
      region && h("div", { class: "controls no-print" }, date, kind, name,
        h("button", { type: "button", name: "add-region-day", onclick: () => date.value && run(
          `mutation($input: SetRegionCalendarDaysInput!) { setRegionCalendarDays(input: $input) { errors { code field message } } }`,
          { regionId: region.id, days: [{ date: date.value, isWorkday: kind.value === "true", name: name.value }] },
        ) }, t("ADD_DAY"))));
  }
}

function row(date, name, readOnly = false) {
  return h("tr", {},
    h("td", {}, h("input", { type: "date", name: "date", value: date, readonly: readOnly })),
    h("td", {}, h("input", { name: "name", value: name, maxlength: 64, readonly: readOnly })),
    h("td", { class: "no-print" }, !readOnly &&
      h("button", { type: "button", name: "remove", onclick: (e) => e.target.closest("tr").remove() }, t("REMOVE"))));
}
