/**
 * The run's charts, drawn as SVG with Apache ECharts' server-side renderer (no browser): ratios per
 * row against their targets, the latency distribution, the IO-bound speedup curve against ideal,
 * and peak RSS of the scale rows against the 200 MB bound. `drawCharts` is pure (results in, SVG
 * text out); `writeCharts` puts the files beside `latest.json`.
 */
import { writeFileSync } from 'node:fs';
import * as echarts from 'echarts';
import type { Percentile } from './stats.ts';
import type { Row } from './table.ts';

/** A latency distribution measured by one side of the latency workload. */
export interface LatencySeries {
  name: string;
  percentiles: Percentile[];
}

/** Speedups over one lane of the IO-bound workload, by lane count, for one distribution. */
export interface SpeedupSeries {
  distribution: 'consistent' | 'balanced';
  points: { lanes: number; speedup: number }[];
}

/** What the workloads record for the charts beyond the table's rows. */
export interface ChartSeries {
  latency: LatencySeries[];
  ioSpeedup: SpeedupSeries[];
}

/** The part of `latest.json` the charts are drawn from. */
export interface ChartInput {
  mode: string;
  startedAt: string;
  rows: Row[];
  series: ChartSeries;
}

/** One drawn chart: its file name and SVG text. */
export interface Chart {
  file: string;
  svg: string;
}

/** Peak RSS a worker may reach whatever the backlog (issue 16). */
export const RSS_BOUND_MB = 200;

const WIDTH = 960;
const COLORS = { met: '#3a8f4b', missed: '#c4453a', untargeted: '#7a8794', target: '#222222' };

/** A ratio target such as `≥ 0.8×` or `≤ 2×`; null for absolute targets (`≤ 2 ms`) and `—`. */
export function ratioTarget(target: string): { atLeast: boolean; value: number } | null {
  const match = /^([≥≤]) ([\d.]+)×$/.exec(target);
  return match ? { atLeast: match[1] === '≥', value: Number(match[2]) } : null;
}

function render(option: echarts.EChartsOption, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height });
  try {
    chart.setOption({ animation: false, backgroundColor: '#ffffff', textStyle: { fontFamily: 'sans-serif' }, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

function subtitle(input: ChartInput): string {
  return `${input.mode} run, ${input.startedAt.slice(0, 16).replace('T', ' ')} UTC`;
}

/** A row's metric without its unit when the unit is only a unit (`jobs/s`, `×`, `ms`). */
function metricName(row: Row): string {
  return row.metric.replace(/ \((jobs\/s|×|ms)\)$/, '');
}

function rowLabel(row: Row): string {
  return `${row.workload}: ${metricName(row)} vs ${row.baselineName}`;
}

/** Every row with a ratio, as a bar (green: target met, red: missed, grey: no target) and its target. */
function ratiosChart(input: ChartInput): string {
  const rows = input.rows.filter((row) => row.ratio !== null).reverse();
  const bars = rows.map((row) => {
    const target = ratioTarget(row.target);
    const met = target && (target.atLeast ? row.ratio! >= target.value : row.ratio! <= target.value);
    return { value: row.ratio, itemStyle: { color: target ? (met ? COLORS.met : COLORS.missed) : COLORS.untargeted } };
  });
  return render(
    {
      title: { text: 'Partita ÷ baseline per row, against the target', subtext: subtitle(input), left: 'center' },
      legend: { top: 62, data: ['ratio P/B', 'target'] },
      grid: { left: 470, right: 40, top: 96, bottom: 30 },
      xAxis: { type: 'log', min: 0.01, max: 100, name: 'ratio (log)', nameLocation: 'middle', nameGap: 22 },
      yAxis: { type: 'category', data: rows.map(rowLabel), axisLabel: { fontSize: 10, width: 460, overflow: 'truncate' } },
      series: [
        { name: 'ratio P/B', type: 'bar', data: bars, barWidth: '60%', itemStyle: { color: COLORS.untargeted } },
        {
          name: 'target',
          type: 'scatter',
          symbol: 'rect',
          symbolSize: [3, 14],
          itemStyle: { color: COLORS.target },
          data: rows.map((row) => ratioTarget(row.target)?.value ?? null),
        },
      ],
    },
    110 + rows.length * 20,
  );
}

function quantileLabel(q: number): string {
  return q === 1 ? 'max' : `p${Math.round(q * 1000) / 10}`;
}

/** Enqueue → perform start latency at each quantile, one line per side. */
function latencyChart(input: ChartInput): string {
  const quantiles = input.series.latency[0]?.percentiles.map((p) => p.q) ?? [];
  return render(
    {
      title: { text: 'Enqueue → perform start latency', subtext: subtitle(input), left: 'center' },
      legend: { top: 62, data: input.series.latency.map((s) => s.name) },
      grid: { left: 70, right: 40, top: 100, bottom: 50 },
      xAxis: { type: 'category', data: quantiles.map(quantileLabel), name: 'percentile', nameLocation: 'middle', nameGap: 28 },
      yAxis: { type: 'log', name: 'ms (log)', min: 0.1 },
      series: input.series.latency.map((s) => ({ name: s.name, type: 'line', symbolSize: 6, data: s.percentiles.map((p) => Math.max(p.ms, 0.1)) })),
    },
    420,
  );
}

/** IO-bound speedup over one lane at each lane count: ideal, consistent and balanced. */
function speedupChart(input: ChartInput): string {
  const lanes = [...new Set(input.series.ioSpeedup.flatMap((s) => s.points.map((p) => p.lanes)))].sort((a, b) => a - b);
  const ideal = (n: number) => [n, n];
  return render(
    {
      title: { text: 'IO-bound speedup over 1 lane (5 ms jobs, one partition)', subtext: subtitle(input), left: 'center' },
      legend: { top: 62, data: ['ideal', ...input.series.ioSpeedup.map((s) => s.distribution)] },
      grid: { left: 70, right: 40, top: 100, bottom: 50 },
      xAxis: { type: 'log', logBase: 2, name: 'lanes (log)', nameLocation: 'middle', nameGap: 28, min: 1, max: Math.max(2, ...lanes) },
      yAxis: { type: 'log', logBase: 2, name: 'speedup (log)', min: 1, max: Math.max(2, ...lanes) },
      series: [
        { name: 'ideal', type: 'line', lineStyle: { type: 'dashed' }, itemStyle: { color: COLORS.target }, data: lanes.map(ideal) },
        ...input.series.ioSpeedup.map((s) => ({ name: s.distribution, type: 'line' as const, symbolSize: 7, data: s.points.map((p) => [p.lanes, p.speedup]) })),
      ],
    },
    420,
  );
}

/** Peak RSS of Partita's worker in each scale row (and the base it is compared with), against the bound. */
function memoryChart(input: ChartInput): string {
  const rows = input.rows.filter((row) => row.workload === 'scale');
  const bars = [
    ...(rows[0]?.baseline?.peakRssMb !== undefined ? [{ name: rows[0].baselineName, mb: rows[0].baseline.peakRssMb }] : []),
    ...rows.map((row) => ({ name: metricName(row), mb: row.partita?.peakRssMb ?? null })),
  ];
  const bound = `bound ≤ ${RSS_BOUND_MB} MB`;
  return render(
    {
      title: { text: 'Peak RSS of the worker process as the work grows', subtext: subtitle(input), left: 'center' },
      legend: { top: 62, data: ['peak RSS', bound] },
      grid: { left: 330, right: 40, top: 96, bottom: 40 },
      xAxis: { type: 'value', name: 'MB', nameLocation: 'middle', nameGap: 24, min: 0 },
      yAxis: { type: 'category', data: bars.map((b) => b.name).reverse(), axisLabel: { fontSize: 11, width: 320, overflow: 'truncate' } },
      series: [
        {
          name: 'peak RSS',
          type: 'bar',
          barWidth: '55%',
          itemStyle: { color: COLORS.untargeted },
          data: bars.map((b) => (b.mb === null ? null : { value: Math.round(b.mb), itemStyle: { color: b.mb <= RSS_BOUND_MB ? COLORS.met : COLORS.missed } })).reverse(),
        },
        { name: bound, type: 'line', symbol: 'none', lineStyle: { type: 'dashed', color: COLORS.target }, itemStyle: { color: COLORS.target }, data: [], markLine: { symbol: 'none', silent: true, label: { formatter: `${RSS_BOUND_MB} MB` }, lineStyle: { type: 'dashed', color: COLORS.target }, data: [{ xAxis: RSS_BOUND_MB }] } },
      ],
    },
    130 + bars.length * 34,
  );
}

/** Draws every chart the results have data for. */
export function drawCharts(input: ChartInput): Chart[] {
  const charts: Chart[] = [{ file: 'ratios.svg', svg: ratiosChart(input) }];
  if (input.series.latency.length > 0) charts.push({ file: 'latency.svg', svg: latencyChart(input) });
  if (input.series.ioSpeedup.length > 0) charts.push({ file: 'io-scaling.svg', svg: speedupChart(input) });
  if (input.rows.some((row) => row.workload === 'scale')) charts.push({ file: 'memory.svg', svg: memoryChart(input) });
  return charts;
}

/** Draws the charts of `input` into `directory` (ending in `/`); returns the files written. */
export function writeCharts(input: ChartInput, directory: string): string[] {
  return drawCharts(input).map(({ file, svg }) => {
    writeFileSync(`${directory}${file}`, `${svg}\n`);
    return file;
  });
}
