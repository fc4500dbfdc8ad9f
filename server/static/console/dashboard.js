// The dashboard: headline figures, trend, handling time, rankings, the overdue and warning
// list, 包联 coverage, service points and exports, all for the filter in the URL.

import { all, download, gql } from "./api.js";
import { clear, h } from "./dom.js";
import { go, presets, readState, remember, statsFilter, today } from "./filter.js";
import { pick, SOURCE_NAMES, STATE_NAMES, t } from "./i18n.js";
import { showDemand } from "./timeline.js";
import { findForm } from "./find.js";

const RATE = "{ numerator denominator ratio }";
const FIGURES = `submitted openNow overdueNow warningNow
  onTime ${RATE} satisfaction ${RATE} ratedShare ${RATE} responseRate ${RATE} closure ${RATE}
  returnVisit ${RATE} badRating ${RATE} rectificationOnTime ${RATE}`;
export const COUNTS = ["submitted", "openNow", "overdueNow", "warningNow"];
export const RATES = ["onTime", "satisfaction", "responseRate", "closure", "returnVisit", "badRating", "rectificationOnTime"];
const LIST_SIZE = 50;
const ROW = `id number title state effectiveDeadline remainingWorkingDays overdue warning
  enterprise { name } department { name }`;

// Only the ranking on screen is asked for: each is a pass over the period's demands.
const MAIN_QUERY = `query Console($f: StatsFilter!, $overdue: DemandFilter!, $warning: DemandFilter!,
    $departments: Boolean!) {
  stats: demandStats(filter: $f) { today ${FIGURES}
    handling { count meanWorkingDays medianWorkingDays p90WorkingDays meanHours medianHours p90Hours } }
  departments: departmentRanking(filter: $f) @include(if: $departments) { ...Ranked }
  towns: regionRanking(filter: $f) @skip(if: $departments) { ...Ranked }
  overdue: demands(filter: $overdue, orderBy: DEADLINE_SOON, first: ${LIST_SIZE}) {
    totalCount edges { node { ${ROW} } } }
  warning: demands(filter: $warning, orderBy: DEADLINE_SOON, first: ${LIST_SIZE}) {
    totalCount edges { node { ${ROW} } } }
}
fragment Ranked on RankedGroup { id name rank score figures { ${FIGURES} handling { meanWorkingDays } } }`;

const MORE_QUERY = `query ConsoleMore($f: StatsFilter!, $interval: TrendInterval!, $agency: StatsFilter!) {
  trend: demandTrend(filter: $f, interval: $interval) { from to ${FIGURES} }
  agency: agencyStats(filter: $agency) { points { servicePointId name regionName submitted done
    onTime ${RATE} satisfaction ${RATE} handling { meanWorkingDays } } }
}`;

const COVERAGE_QUERY = `query Coverage($r: ID!, $on: Date) {
  visitCoverage(regionId: $r, period: QUARTER, on: $on) { assigned visited rate periodStart periodEnd
    byLeader { assigned visited rate leader { id displayName } unvisited { id name } } } }`;

export const percent = (rate) =>
  rate.ratio === null || rate.ratio === undefined ? "—" : `${(rate.ratio * 100).toFixed(1)}%`;
const days = (value) => (value === null || value === undefined ? "—" : value.toFixed(1));

let options = null; // regions, departments, categories for the filter's lists
// ECharts (1 MB) is fetched while the first figures are asked for, not before.
const charts = () => import("./charts.js");

const PAGE = "pageInfo { hasNextPage endCursor }";
const REGIONS = `regions(first: 100, after: $after) { edges { node { id name level parent { id } } } ${PAGE} }`;
const DEPARTMENTS = `departments(first: 100, after: $after) { edges { node { id name } } ${PAGE} }`;

// The filter's lists in one request (a county's regions and departments fit one page each).
async function loadOptions(me) {
  if (options) return options;
  const data = await gql(
    `query($r: ID, $after: String) { ${REGIONS} ${DEPARTMENTS} demandCategories(regionId: $r) { id name } }`,
    { r: me.region?.id ?? null, after: null },
  );
  const rest = async (connection, field) =>
    connection.pageInfo.hasNextPage
      ? [...connection.edges.map((e) => e.node),
        ...(await all(`query($after: String) { ${field} }`, { after: connection.pageInfo.endCursor }, (d) => Object.values(d)[0]))]
      : connection.edges.map((e) => e.node);
  const [regions, departments] = await Promise.all([rest(data.regions, REGIONS), rest(data.departments, DEPARTMENTS)]);
  options = { regions: treeOrder(regions, me.regionIds), departments, categories: data.demandCategories };
  return options;
}

// Regions depth first under the user's own (indented by depth), or every root's.
function treeOrder(regions, roots) {
  const children = new Map();
  for (const r of regions) {
    const parent = r.parent?.id ?? null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(r);
  }
  const byId = new Map(regions.map((r) => [r.id, r]));
  const tops = roots.length ? roots.map((id) => byId.get(id)).filter(Boolean) : children.get(null) || [];
  const out = [];
  const walk = (r, depth) => {
    out.push({ id: r.id, name: r.name, depth });
    for (const c of children.get(r.id) || []) walk(c, depth + 1);
  };
  tops.forEach((r) => walk(r, 0));
  return out;
}

export async function renderDashboard(root, me) {
  const state = readState();
  charts(); // fetched while the figures are asked for
  const filter = statsFilter(state);
  const listFilter = (flag) => ({
    [flag]: true,
    submittedFrom: state.from,
    submittedTo: state.to,
    regionId: state.regionId || null,
    departmentId: state.departmentId || null,
    categoryId: state.categoryId || null,
    source: state.source || null,
  });
  const agencyFilter = { from: state.from, to: state.to, regionId: state.regionId || null, departmentId: state.departmentId || null };
  const coverageRegion = state.regionId || me.regionIds[0];
  const main = gql(MAIN_QUERY, {
    f: filter, overdue: listFilter("overdue"), warning: listFilter("warning"), departments: state.rank !== "towns",
  });
  const more = gql(MORE_QUERY, { f: filter, interval: state.interval || "WEEK", agency: agencyFilter });
  const coverage = coverageRegion
    ? gql(COVERAGE_QUERY, { r: coverageRegion, on: state.to < today() ? state.to : null })
    : Promise.resolve(null);
  // Each is awaited below; a refusal is thrown there, once (not also as an unhandled one).
  for (const asked of [main, more, coverage]) asked.catch(() => {});
  const opts = await loadOptions(me);
  const view = {
    filter: filterBar(state, opts),
    figures: h("section", { class: "figures", "aria-label": t("FIGURES") }),
    trend: h("section", { class: "panel trend" }),
    handling: h("section", { class: "panel handling" }),
    ranking: h("section", { class: "panel ranking" }),
    list: h("section", { class: "panel list" }),
    coverage: h("section", { class: "panel coverage" }),
    agency: h("section", { class: "panel agency" }),
    exports: exportBar(state),
  };
  clear(
    root,
    view.filter,
    view.exports,
    view.figures,
    h("div", { class: "row" }, view.trend, view.handling),
    view.ranking,
    view.list,
    h("div", { class: "row" }, view.coverage, view.agency),
  );
  const data = await main;
  renderFigures(view.figures, data.stats);
  renderHandling(view.handling, data.stats.handling);
  const drawn = [renderRanking(view.ranking, state, data)];
  renderList(view.list, data);
  const [extra, cover] = await Promise.all([more, coverage]);
  drawn.push(renderTrend(view.trend, state, extra.trend));
  renderAgency(view.agency, extra.agency);
  renderCoverage(view.coverage, cover?.visitCoverage);
  await Promise.all(drawn);
  if (state.demand) showDemand(state.demand);
}

function select(name, label, current, choices) {
  return h(
    "label", {}, label,
    h(
      "select",
      { name, onchange: (e) => go({ [name]: e.target.value, demand: "" }) },
      h("option", { value: "" }, t("ALL")),
      choices.map((c) => h("option", { value: c.value, selected: c.value === current }, c.label)),
    ),
  );
}

function filterBar(state, opts) {
  const ranges = presets();
  const date = (name) =>
    h("input", {
      type: "date", name, value: state[name], required: true,
      onchange: (e) => e.target.value && go({ [name]: e.target.value, demand: "" }),
    });
  return h(
    "form", { class: "filter", onsubmit: (e) => e.preventDefault() },
    h("fieldset", { class: "period" },
      h("legend", {}, t("PERIOD")),
      Object.entries(ranges).map(([key, [from, to]]) =>
        h("button", {
          type: "button", name: key,
          class: state.from === from && state.to === to ? "preset active" : "preset",
          onclick: () => go({ from, to, demand: "" }),
        }, t(key))),
      h("label", {}, t("FROM"), date("from")),
      h("label", {}, t("TO"), date("to")),
    ),
    select("regionId", t("REGION"), state.regionId,
      opts.regions.map((r) => ({ value: r.id, label: "\u3000".repeat(r.depth) + r.name }))),
    select("departmentId", t("DEPARTMENT"), state.departmentId,
      opts.departments.map((d) => ({ value: d.id, label: d.name }))),
    select("categoryId", t("CATEGORY"), state.categoryId,
      opts.categories.map((c) => ({ value: c.id, label: c.name }))),
    select("source", t("SOURCE"), state.source,
      Object.entries(SOURCE_NAMES).map(([value, names]) => ({ value, label: pick(names) }))),
    h("button", {
      type: "button", name: "clear",
      onclick: () => go({ regionId: "", departmentId: "", categoryId: "", source: "", demand: "" }),
    }, t("CLEAR_FILTER")),
  );
}

function exportBar(state) {
  const status = h("span", { class: "status", role: "status" });
  const slugs = ["demands", "problem-list", "rectification-list", "responsibility-list", "department-ranking"];
  return h(
    "section", { class: "exports no-print" },
    h("span", { class: "label" }, t("EXPORTS")),
    slugs.map((slug) =>
      h("button", {
        type: "button", dataset: { export: slug },
        onclick: async (e) => {
          e.target.disabled = true;
          clear(status);
          try {
            await download(slug, statsFilter(state));
          } catch (err) {
            clear(status, t("ERROR", { message: err.message }));
          } finally {
            e.target.disabled = false;
          }
        },
      }, t(slug), " XLSX")),
    status,
  );
}

function renderFigures(el, stats) {
  const card = (key, value, hover, extra = null) =>
    h("div", { class: `figure ${key}`, dataset: { figure: key }, title: hover, tabindex: 0 },
      h("span", { class: "name" }, t(key)),
      h("span", { class: "value" }, value),
      extra && h("span", { class: "extra" }, extra));
  clear(
    el,
    card("submitted", stats.submitted, t("COUNT_HOVER")),
    ...COUNTS.slice(1).map((key) => card(key, stats[key], t("NOW_HOVER", { today: stats.today }))),
    ...RATES.map((key) =>
      card(key, percent(stats[key]), t("RATE_HOVER", stats[key]),
        key === "satisfaction" && stats.ratedShare.ratio !== null
          ? t("UNRATED", { share: `${((1 - stats.ratedShare.ratio) * 100).toFixed(1)}%` })
          : null)),
  );
}

function renderHandling(el, handling) {
  clear(
    el,
    h("h2", {}, t("HANDLING")),
    h("p", { class: "note" }, t("HANDLING_NOTE", { count: handling.count })),
    h("table", {},
      h("thead", {}, h("tr", {}, h("th"), h("th", {}, t("WORKING_DAYS")), h("th", {}, t("HOURS")))),
      h("tbody", {},
        ["mean", "median", "p90"].map((k) =>
          h("tr", { dataset: { stat: k } },
            h("th", {}, t(k.toUpperCase())),
            h("td", {}, days(handling[`${k}WorkingDays`])),
            h("td", {}, days(handling[`${k}Hours`])))))),
  );
}

const TREND_FIGURES = ["submitted", "overdueNow", "onTime", "satisfaction", "responseRate", "closure", "returnVisit"];

function renderTrend(el, state, buckets) {
  const figure = TREND_FIGURES.includes(state.figure) ? state.figure : "submitted";
  const interval = state.interval || "WEEK";
  const chart = h("div", { class: "chart", role: "img", "aria-label": t("TREND") });
  clear(
    el,
    h("h2", {}, t("TREND")),
    h("div", { class: "controls no-print" },
      h("select", { name: "figure", onchange: (e) => go({ figure: e.target.value }, { replace: true }) },
        TREND_FIGURES.map((k) => h("option", { value: k, selected: k === figure }, t(k)))),
      ["WEEK", "MONTH"].map((k) =>
        h("button", {
          type: "button", name: k, class: k === interval ? "preset active" : "preset",
          onclick: () => go({ interval: k }, { replace: true }),
        }, t(k)))),
    chart,
  );
  const rate = RATES.includes(figure);
  const values = buckets.map((b) =>
    rate ? (b[figure].ratio === null ? null : +(b[figure].ratio * 100).toFixed(1)) : b[figure]);
  return charts().then(({ lineChart }) =>
    lineChart(chart, buckets.map((b) => b.from.slice(5)), [{ name: t(figure), values }], { percent: rate }));
}

const RANK_COLUMNS = [
  ["rank", "RANK", (g) => g.rank ?? Infinity, (g) => g.rank ?? "—"],
  ["name", "NAME", (g) => g.name, (g) => g.name],
  ["score", "SCORE", (g) => g.score ?? -1, (g) => (g.score === null ? "—" : g.score.toFixed(1))],
  ["submitted", "submitted", (g) => g.figures.submitted, (g) => g.figures.submitted],
  ["overdueNow", "overdueNow", (g) => g.figures.overdueNow, (g) => g.figures.overdueNow],
  ["onTime", "onTime", (g) => g.figures.onTime.ratio ?? -1, (g) => percent(g.figures.onTime)],
  ["satisfaction", "satisfaction", (g) => g.figures.satisfaction.ratio ?? -1, (g) => percent(g.figures.satisfaction)],
  ["handling", "HANDLING", (g) => g.figures.handling.meanWorkingDays ?? Infinity, (g) => days(g.figures.handling.meanWorkingDays)],
];

function renderRanking(el, state, data) {
  const kind = state.rank === "towns" ? "towns" : "departments";
  const groups = data[kind];
  const [sortKey, direction] = (state.sort || "rank:asc").split(":");
  const column = RANK_COLUMNS.find((c) => c[0] === sortKey) || RANK_COLUMNS[0];
  const sorted = [...groups].sort((a, b) => {
    const x = column[2](a), y = column[2](b);
    const order = typeof x === "string" ? x.localeCompare(y, "zh") : x - y;
    return direction === "desc" ? -order : order;
  });
  const pickGroup = (g) =>
    kind === "departments" ? go({ departmentId: g.id, demand: "" }) : go({ regionId: g.id, demand: "" });
  const chart = h("div", { class: "chart bars" });
  clear(
    el,
    h("h2", {}, t("RANKING")),
    h("div", { class: "controls no-print" },
      ["departments", "towns"].map((k) =>
        h("button", {
          type: "button", name: k, class: k === kind ? "preset active" : "preset",
          onclick: () => go({ rank: k, sort: "" }, { replace: true }),
        }, t(k.toUpperCase()))),
      h("span", { class: "note" }, t("RANKING_HINT"))),
    chart,
    h("table", { class: "sortable", dataset: { ranking: kind } },
      h("thead", {}, h("tr", {}, RANK_COLUMNS.map(([key, label]) =>
        h("th", {
          scope: "col", dataset: { sort: key },
          "aria-sort": key === column[0] ? (direction === "desc" ? "descending" : "ascending") : null,
          onclick: () => go({ sort: `${key}:${key === column[0] && direction !== "desc" ? "desc" : "asc"}` }, { replace: true }),
        }, t(label))))),
      h("tbody", {}, sorted.map((g) =>
        h("tr", { dataset: { id: g.id }, class: "clickable", onclick: () => pickGroup(g) },
          RANK_COLUMNS.map(([key, , , show]) => h(key === "name" ? "th" : "td", {}, show(g))))))),
  );
  const ranked = groups.filter((g) => g.score !== null);
  return charts().then(({ barChart }) =>
    barChart(chart, ranked.map((g) => g.name), ranked.map((g) => +g.score.toFixed(1)), (i) => pickGroup(ranked[i])));
}

function renderList(el, data) {
  const rows = [...data.overdue.edges, ...data.warning.edges].map((e) => e.node);
  rows.sort((a, b) => (a.remainingWorkingDays ?? 0) - (b.remainingWorkingDays ?? 0));
  const more = data.overdue.totalCount > LIST_SIZE || data.warning.totalCount > LIST_SIZE;
  clear(
    el,
    h("h2", {}, t("OVERDUE_LIST"), " ",
      h("span", { class: "count" }, `${data.overdue.totalCount} / ${data.warning.totalCount}`)),
    findForm(),
    rows.length === 0
      ? h("p", { class: "note" }, t("NONE"))
      : h("table", { class: "demands" },
        h("thead", {}, h("tr", {},
          ["NUMBER", "DEMAND_TITLE", "ENTERPRISE", "DEPARTMENT", "STATE", "DEADLINE", "REMAINING"].map((k) =>
            h("th", { scope: "col" }, t(k))))),
        h("tbody", {}, rows.map((d) =>
          h("tr", {
            class: d.overdue ? "clickable overdue" : "clickable warning", dataset: { id: d.id },
            onclick: () => { remember({ demand: d.id }); showDemand(d.id); },
          },
          h("td", { class: "number" }, d.number),
          h("td", {}, d.title),
          h("td", {}, d.enterprise.name),
          h("td", {}, d.department?.name ?? "—"),
          h("td", {}, pick(STATE_NAMES[d.state]) || d.state),
          h("td", {}, d.effectiveDeadline ?? "—"),
          h("td", { class: "days" },
            d.remainingWorkingDays === null ? "—"
              : d.remainingWorkingDays < 0 ? t("OVERDUE_DAYS", { days: -d.remainingWorkingDays })
                : t("DUE_IN", { days: d.remainingWorkingDays }))))),
      ),
    more && h("p", { class: "note" }, t("MORE_ROWS", { count: LIST_SIZE })),
  );
}

function renderCoverage(el, coverage) {
  if (!coverage) return clear(el);
  const leaders = [...coverage.byLeader].sort((a, b) => (a.rate ?? 0) - (b.rate ?? 0));
  clear(
    el,
    h("h2", {}, t("COVERAGE"), " ",
      h("span", { class: "count" }, `${coverage.visited} / ${coverage.assigned}`)),
    h("p", { class: "note" }, `${coverage.periodStart} — ${coverage.periodEnd}`),
    h("table", { class: "coverage" },
      h("thead", {}, h("tr", {}, ["LEADER", "ASSIGNED", "VISITED", "NOT_VISITED", "COVERAGE_RATE"].map((k) =>
        h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, leaders.map(leaderRows))),
    leaders.some((l) => l.unvisited.length) && h("p", { class: "note no-print" }, t("UNVISITED_HINT")),
  );
}

// A leader's row, and below it (shown by a click on the row) the enterprises they have not
// visited this period, as visitCoverage lists them.
function leaderRows(l) {
  const rate = h("td", {}, l.rate === null ? "—" : `${(l.rate * 100).toFixed(1)}%`);
  if (!l.unvisited.length) {
    return h("tr", { dataset: { leader: l.leader.id } },
      h("th", {}, l.leader.displayName), h("td", {}, l.assigned), h("td", {}, l.visited), h("td", {}, 0), rate);
  }
  const detail = h("tr", { class: "unvisited", hidden: true, dataset: { leader: l.leader.id } },
    h("td", { colspan: 5 },
      h("span", { class: "label" }, t("UNVISITED_LIST", { name: l.leader.displayName })),
      h("ul", { class: "names" }, l.unvisited.map((e) => h("li", { dataset: { id: e.id } }, e.name)))));
  const toggle = h("button", { type: "button", name: "unvisited", class: "toggle", "aria-expanded": "false" },
    l.unvisited.length);
  const row = h("tr", {
    class: "clickable behind", dataset: { leader: l.leader.id },
    onclick: () => {
      detail.hidden = !detail.hidden;
      toggle.setAttribute("aria-expanded", String(!detail.hidden));
    },
  },
  h("th", {}, l.leader.displayName), h("td", {}, l.assigned), h("td", {}, l.visited), h("td", {}, toggle), rate);
  return [row, detail];
}

function renderAgency(el, agency) {
  clear(
    el,
    h("h2", {}, t("AGENCY")),
    h("table", { class: "agency" },
      h("thead", {}, h("tr", {}, ["SERVICE_POINT", "REGION", "AGENCY_SUBMITTED", "AGENCY_DONE", "onTime", "satisfaction", "HANDLING"].map((k) =>
        h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, agency.points.map((p) =>
        h("tr", {},
          h("th", {}, p.name),
          h("td", {}, p.regionName),
          h("td", {}, p.submitted),
          h("td", {}, p.done),
          h("td", {}, percent(p.onTime)),
          h("td", {}, percent(p.satisfaction)),
          h("td", {}, days(p.handling.meanWorkingDays)))))),
  );
}
