// Charts with Apache ECharts (vendored, echarts@5.6.0/, Apache-2.0), drawn on a canvas. The
// tooltip is drawn on the canvas too (renderMode richText): its HTML mode writes inline style
// attributes, which the page's Content-Security-Policy refuses.

import * as echarts from "./echarts@5.6.0/echarts.esm.min.js";

const charts = new WeakMap();

function chartOn(el) {
  let chart = charts.get(el);
  if (!chart || chart.isDisposed()) {
    chart = echarts.init(el, null, { renderer: "canvas" });
    charts.set(el, chart);
  }
  return chart;
}

const TOOLTIP = { trigger: "axis", renderMode: "richText" };

// A line per series over the category axis `labels`; `values` may hold nulls (no figure).
export function lineChart(el, labels, series, { percent = false } = {}) {
  chartOn(el).setOption(
    {
      animation: false,
      tooltip: TOOLTIP,
      legend: { show: series.length > 1 },
      grid: { left: 48, right: 16, top: series.length > 1 ? 32 : 16, bottom: 28 },
      xAxis: { type: "category", data: labels },
      yAxis: {
        type: "value",
        max: percent ? 100 : null,
        axisLabel: { formatter: percent ? "{value}%" : "{value}" },
      },
      series: series.map((s) => ({ name: s.name, type: "line", data: s.values, connectNulls: false })),
    },
    true,
  );
  el.dataset.points = JSON.stringify(series.map((s) => s.values));
}

// Horizontal bars, the first label at the top; `onClick(index)` when a bar is clicked.
export function barChart(el, labels, values, onClick) {
  const chart = chartOn(el);
  chart.setOption(
    {
      animation: false,
      tooltip: { ...TOOLTIP, axisPointer: { type: "shadow" } },
      grid: { left: 150, right: 24, top: 8, bottom: 24 },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: labels, inverse: true, axisLabel: { width: 140, overflow: "truncate" } },
      series: [{ type: "bar", data: values, barMaxWidth: 22 }],
    },
    true,
  );
  chart.off("click");
  if (onClick) chart.on("click", (event) => onClick(event.dataIndex));
  el.dataset.points = JSON.stringify(values);
}

export function resizeAll() {
  for (const el of document.querySelectorAll(".chart")) charts.get(el)?.resize();
}
