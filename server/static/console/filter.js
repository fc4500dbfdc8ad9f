// The filter every view follows, kept in the page's URL (a link sent to a colleague, or
// printed, shows the same figures): from, to, regionId, departmentId, categoryId, source —
// the names /exports takes — and the view's own choices (interval, figure, rank, demand).

const FILTER_KEYS = ["from", "to", "regionId", "departmentId", "categoryId", "source"];
const VIEW_KEYS = ["view", "year", "interval", "figure", "rank", "sort", "demand"];

// Today in Asia/Shanghai, YYYY-MM-DD (the API's days are Shanghai days).
export function today() {
  return new Intl.DateTimeFormat("en-CA", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
  }).format(new Date());
}

const pad = (n) => String(n).padStart(2, "0");
const lastDay = (y, m) => new Date(Date.UTC(y, m, 0)).getUTCDate(); // m: 1..12

export function presets() {
  const [y, m] = today().split("-").map(Number);
  const month = (yy, mm) => [`${yy}-${pad(mm)}-01`, `${yy}-${pad(mm)}-${pad(lastDay(yy, mm))}`];
  const q = Math.floor((m - 1) / 3) * 3 + 1;
  return {
    THIS_MONTH: month(y, m),
    LAST_MONTH: m === 1 ? month(y - 1, 12) : month(y, m - 1),
    THIS_QUARTER: [`${y}-${pad(q)}-01`, `${y}-${pad(q + 2)}-${pad(lastDay(y, q + 2))}`],
    THIS_YEAR: [`${y}-01-01`, `${y}-12-31`],
  };
}

export function readState() {
  const q = new URLSearchParams(location.search);
  const [from, to] = presets().THIS_MONTH;
  const state = { from, to };
  for (const key of [...FILTER_KEYS, ...VIEW_KEYS]) {
    const value = q.get(key);
    if (value) state[key] = value;
  }
  return state;
}

// The StatsFilter (and /exports query) of a state: only the filter's keys, empty ones left out.
export function statsFilter(state) {
  const filter = {};
  for (const key of FILTER_KEYS) if (state[key]) filter[key] = state[key];
  return filter;
}

// Change the URL (a new history entry unless `replace`) and tell the page.
function urlWith(changes) {
  const state = { ...readState(), ...changes };
  const q = new URLSearchParams();
  for (const key of [...FILTER_KEYS, ...VIEW_KEYS]) if (state[key]) q.set(key, state[key]);
  return `${location.pathname}?${q}`;
}

export function go(changes, { replace = false } = {}) {
  const url = urlWith(changes);
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  window.dispatchEvent(new Event("statechange"));
}

// Change the URL without a new history entry and without telling the page (what is shown
// already follows it: an opened or closed demand).
export function remember(changes) {
  history.replaceState(null, "", urlWith(changes));
}
