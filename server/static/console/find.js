// Find a demand by its work-order number (工单号), as a leader told one on the phone would:
// the list's search finds the number exactly first, so the first row is it or there is none.

import { gql } from "./api.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { showDemand } from "./timeline.js";
import { remember } from "./filter.js";

const FIND_QUERY = `query FindDemand($f: DemandFilter!) {
  demands(filter: $f, first: 1) { edges { node { id number } } } }`;

// As the server compares: spaces and case ignored, full-width letters and digits as ASCII.
export function normalNumber(text) {
  return text.normalize("NFKC").replace(/\s+/g, "").toUpperCase();
}

export function findForm() {
  const input = h("input", {
    type: "search", name: "number", "aria-label": t("FIND_NUMBER"), placeholder: t("FIND_NUMBER"),
  });
  const message = h("span", { class: "note", role: "status" });
  const form = h("form", { class: "find no-print", role: "search" }, input,
    h("button", { type: "submit" }, t("FIND")), message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const number = normalNumber(input.value);
    message.textContent = "";
    if (!number) return;
    const { demands } = await gql(FIND_QUERY, { f: { search: number } });
    const found = demands.edges[0]?.node;
    if (found && found.number === number) {
      remember({ demand: found.id });
      showDemand(found.id);
    } else {
      message.textContent = t("NOT_FOUND", { number });
    }
  });
  return form;
}
