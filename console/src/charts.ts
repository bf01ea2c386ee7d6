import uPlot from 'uplot';
import { h } from './ui.js';

const COLORS = ['#2563eb', '#16a34a', '#d97706', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];

/** A time series chart (x in seconds since the epoch), one line per series; nulls are gaps. */
export function lineChart(
  title: string,
  x: number[],
  series: { label: string; values: (number | null)[] }[],
  unit: string,
): HTMLElement {
  const el = h('figure', { class: 'chart', 'data-chart': title }, h('figcaption', {}, title));
  const width = 560;
  new uPlot(
    {
      width,
      height: 220,
      series: [
        {},
        ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false })),
      ],
      axes: [{}, { label: unit, size: 60, values: (_u, ticks) => ticks.map((t) => String(Number(t.toPrecision(3)))) }],
      scales: { x: { time: true } },
    },
    [x, ...series.map((s) => s.values)] as uPlot.AlignedData,
    el,
  );
  return el;
}

/** Stacked bars for categories (domains): each series is drawn over the running total of the ones before it. */
export function stackedBars(
  title: string,
  categories: string[],
  series: { label: string; values: number[] }[],
  unit: string,
): HTMLElement {
  const el = h('figure', { class: 'chart', 'data-chart': title }, h('figcaption', {}, title));
  const totals = series.map((_, i) =>
    categories.map((_, c) => series.slice(0, series.length - i).reduce((sum, s) => sum + (s.values[c] ?? 0), 0)),
  );
  const bars = uPlot.paths.bars!({ size: [0.6, 80] });
  new uPlot(
    {
      width: Math.max(560, categories.length * 90),
      height: 260,
      // totals[i] shows, above totals[i + 1], the segment of series[n - 1 - i].
      series: [
        {},
        ...series.map((_, i) => {
          const top = series.length - 1 - i;
          return {
            label: series[top]!.label,
            fill: COLORS[top % COLORS.length],
            stroke: COLORS[top % COLORS.length],
            paths: bars,
            points: { show: false },
          };
        }),
      ],
      axes: [
        { values: (_u, ticks) => ticks.map((t) => categories[t] ?? ''), space: 40 },
        { label: unit, size: 80, values: (_u, ticks) => ticks.map((t) => t.toPrecision(2)) },
      ],
      scales: { x: { time: false, range: [-0.5, categories.length - 0.5] } },
      legend: { live: false },
    },
    [categories.map((_, i) => i), ...totals] as uPlot.AlignedData,
    el,
  );
  return el;
}
