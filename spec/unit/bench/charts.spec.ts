import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { drawCharts, ratioTarget, type ChartInput } from '../../../bench/support/charts.ts';

const fixture = JSON.parse(readFileSync(new URL('./results-fixture.json', import.meta.url), 'utf8')) as ChartInput;

/** The text of every `<text>` element of an SVG, entities decoded. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>'));
}

describe('bench charts', () => {
  const charts = new Map(drawCharts(fixture).map((chart) => [chart.file, chart.svg]));

  it('draws the ratios, latency, IO-bound speedup and memory charts as SVG', () => {
    expect([...charts.keys()]).to.deep.equal(['ratios.svg', 'latency.svg', 'io-scaling.svg', 'memory.svg']);
    for (const svg of charts.values()) expect(svg).to.match(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  });

  it('names every series of each chart in its legend', () => {
    const expected: Record<string, string[]> = {
      'ratios.svg': ['ratio P/B', 'target'],
      'latency.svg': ['Partita', 'kafkajs, commits on a timer'],
      'io-scaling.svg': ['ideal', 'consistent', 'balanced'],
      'memory.svg': ['peak RSS', 'bound ≤ 200 MB'],
    };
    for (const [file, names] of Object.entries(expected)) expect(texts(charts.get(file)!), file).to.include.members(names);
  });

  it('labels each row with a ratio, and each scale row, by its workload and metric', () => {
    const ratios = texts(charts.get('ratios.svg')!).join('\n');
    for (const row of fixture.rows.filter((r) => r.ratio !== null)) expect(ratios).to.include(`${row.workload}: ${row.metric.replace(/ \([^)]*\)$/, '')}`.slice(0, 40));
    expect(texts(charts.get('memory.svg')!)).to.include.members(['backlog ×10: 1,000,000 jobs', '64 partitions', 'consume: 1 worker, 100,000 jobs']);
  });

  it('draws only the charts the results have data for', () => {
    const files = drawCharts({ ...fixture, rows: fixture.rows.filter((r) => r.workload !== 'scale'), series: { latency: [], ioSpeedup: [] } }).map((c) => c.file);
    expect(files).to.deep.equal(['ratios.svg']);
  });

  it('reads ratio targets and leaves absolute ones alone', () => {
    expect(ratioTarget('≥ 0.8×')).to.deep.equal({ atLeast: true, value: 0.8 });
    expect(ratioTarget('≤ 2×')).to.deep.equal({ atLeast: false, value: 2 });
    expect(ratioTarget('≤ 2 ms')).to.equal(null);
    expect(ratioTarget('RSS ≤ 200 MB')).to.equal(null);
    expect(ratioTarget('—')).to.equal(null);
  });
});
