import { html, type Html } from '../html.ts';
import { formatDuration, formatTime, href, layout, table, type PageContext } from '../layout.ts';
import type { Figures } from '../live.ts';
import type { ProcessStatus } from '../../reports/index.ts';
import { describeCoordinates } from '../../errors.ts';

/**
 * The dashboard: jobs performed and failed per second, lag, running jobs (figures and charts over
 * the last hour, updated live by `dashboard.js` from server-sent events) and the jobs running now.
 */
export function dashboardPage(context: PageContext, figures: Figures, processes: readonly ProcessStatus[], now = Date.now()): Html {
  const running = processes
    .filter((p) => p.state === 'live')
    .flatMap((p) => p.report.runningJobs.map((job) => ({ job, host: `${p.report.process.host}:${p.report.process.pid}` })))
    .sort((a, b) => a.job.startedAt - b.job.startedAt);
  const body = html`<section class="figures" data-series="${href(context, '/series')}" data-events="${href(context, '/events')}">
${figure('performed', 'performed / s', figures.performedPerSecond.toFixed(1))}
${figure('failed', 'failed / s', figures.failedPerSecond.toFixed(1))}
${figure('lag', 'lag', figures.lag)}
${figure('running', 'running jobs', figures.running)}
${figure('processes', 'live processes', figures.liveProcesses)}
${figure('performed-hour', 'performed, last hour', figures.performedLastHour)}
${figure('failed-hour', 'failed, last hour', figures.failedLastHour)}
</section>
<section class="charts">
<div class="chart"><h2>Jobs per second, last hour</h2><div id="chart-throughput"></div></div>
<div class="chart"><h2>Lag and running jobs</h2><div id="chart-lag"></div></div>
</section>
<h2>Running jobs</h2>
${table(
  ['job class', 'job id', 'topic/partition@offset', 'executions', 'running for', 'process'],
  running.map(({ job, host }) => [job.jobClass, html`<code>${job.jobId}</code>`, `${describeCoordinates(job)}`, job.executions, html`${formatDuration(now - job.startedAt)} <span class="muted">since ${formatTime(job.startedAt)}</span>`, host]),
  'No job is running.',
  'running-jobs',
)}`;
  return layout(context, 'Dashboard', body, ['uPlot.iife.min.js', 'dashboard.js'], ['uPlot.min.css']);
}

function figure(name: string, label: string, value: string | number): Html {
  return html`<div class="figure-box"><span class="value" id="figure-${name}">${value}</span><span class="label">${label}</span></div>`;
}
