/** Rows of the result table: Partita's figure, the baseline's, and their ratio. */

/** A measured figure, with the peak RSS of the process that produced it when known. */
export interface Figure {
  value: number;
  peakRssMb?: number;
}

export interface Row {
  workload: string;
  /** What is measured, with its unit. */
  metric: string;
  partita: Figure | null;
  baselineName: string;
  baseline: Figure | null;
  /** Partita ÷ baseline; null when either side is missing. */
  ratio: number | null;
  /** Whether a higher or lower ratio is better for Partita. */
  better: 'higher' | 'lower';
  /** The target from the issue, for reading (never enforced). */
  target: string;
}

export function row(fields: Omit<Row, 'ratio'>): Row {
  const { partita, baseline } = fields;
  const ratio = partita && baseline && baseline.value > 0 ? partita.value / baseline.value : null;
  return { ...fields, ratio };
}

function figure(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(value >= 10 ? 1 : 2);
}

function rss(f: Figure | null): string {
  return f?.peakRssMb === undefined ? '—' : String(Math.round(f.peakRssMb));
}

/** The rows as a fixed-width text table (also pasted into bench/README.md). */
export function formatTable(rows: readonly Row[]): string {
  const header = ['workload', 'metric', 'Partita', 'baseline', 'baseline value', 'ratio P/B', 'better', 'target', 'RSS MB P/B'];
  const lines = rows.map((r) => [
    r.workload,
    r.metric,
    figure(r.partita?.value),
    r.baselineName,
    figure(r.baseline?.value),
    r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`,
    r.better,
    r.target,
    `${rss(r.partita)} / ${rss(r.baseline)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const numeric = new Set([2, 4, 5]);
  const render = (cells: string[]) => `| ${cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (numeric.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [render(header), rule, ...lines.map(render)].join('\n');
}
