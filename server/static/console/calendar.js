// The working-day calendar (administrators): a year's holidays and make-up working days
// (调休), as `workingCalendar` gives them, unconfirmed years marked; saved with
// `setCalendarYear` (system administrators), returned to the shipped arrangement with
// `clearCalendarYear`.

import { gql } from "./api.js";
import { clear, h } from "./dom.js";
import { go, readState, today } from "./filter.js";
import { t } from "./i18n.js";

const CALENDAR = `query($y: Int!) { workingCalendar(year: $y) {
  year confirmed entered note days { date isWorkday name source } } }`;
const PAYLOAD = "calendar { year confirmed entered } errors { code field message }";

const weekday = (date) => {
  const d = new Date(`${date}T00:00:00Z`).getUTCDay();
  return d !== 0 && d !== 6;
};

export async function renderCalendar(root, me) {
  const thisYear = Number(today().slice(0, 4));
  const year = Number(readState().year) || thisYear;
  const [cal, next] = await Promise.all([
    gql(CALENDAR, { y: year }).then((d) => d.workingCalendar),
    gql(`query($y: Int!) { workingCalendar(year: $y) { confirmed } }`, { y: thisYear + 1 }),
  ]);
  const national = cal.days.filter((d) => d.source !== "REGION");
  const status = h("p", { class: "status", role: "status" });
  const list = (isWorkday) =>
    h("table", { class: "days", dataset: { workday: String(isWorkday) } },
      h("thead", {}, h("tr", {}, h("th", {}, t("DATE")), h("th", {}, t("HOLIDAY_NAME")), h("th"))),
      h("tbody", {}, national.filter((d) => d.isWorkday === isWorkday).map((d) => row(d.date, d.name))),
      h("tfoot", { class: "no-print" }, h("tr", {}, h("td", { colspan: 3 },
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
      h("label", {}, t("NOTE"), note),
      h("div", { class: "controls no-print" },
        h("button", { type: "button", name: "save", onclick: () => run(
          `mutation($input: SetCalendarYearInput!) { setCalendarYear(input: $input) { ${PAYLOAD} } }`,
          { year, note: note.value, holidays: collect(holidays, weekday), workdays: collect(workdays, (d) => !weekday(d)) },
        ) }, t("SAVE_YEAR")),
        cal.entered && h("button", { type: "button", name: "clear-year", onclick: () => run(
          `mutation($input: ClearCalendarYearInput!) { clearCalendarYear(input: $input) { ${PAYLOAD} } }`,
          { year },
        ) }, t("CLEAR_YEAR"))),
      status),
  );
}

function row(date, name) {
  return h("tr", {},
    h("td", {}, h("input", { type: "date", name: "date", value: date })),
    h("td", {}, h("input", { name: "name", value: name, maxlength: 64 })),
    h("td", { class: "no-print" },
      h("button", { type: "button", name: "remove", onclick: (e) => e.target.closest("tr").remove() }, t("REMOVE"))));
}
