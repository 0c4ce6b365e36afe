/**
 * `npm run bench:charts [results.json]`: redraws the charts from a results file (default
 * bench/results/latest.json) into the file's directory, e.g. after the recorded run.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCharts, type ChartInput } from './support/charts.ts';

const file = resolve(process.argv[2] ?? fileURLToPath(new URL('./results/latest.json', import.meta.url)));
const results = JSON.parse(readFileSync(file, 'utf8')) as Omit<ChartInput, 'series'> & Partial<Pick<ChartInput, 'series'>>;
const written = writeCharts({ ...results, series: results.series ?? { latency: [], ioSpeedup: [] } }, `${dirname(file)}/`);
console.log(`charts written beside ${file}: ${written.join(', ')}`);
