import { html, type Html } from '../html.ts';
import { formatBytes, formatDuration, formatTime, layout, table, type PageContext } from '../layout.ts';
import type { ProcessStatus } from '../../reports/index.ts';

/** Processes: every worker process that reported in the last hour; one that stopped reporting is gone. */
export function processesPage(context: PageContext, processes: readonly ProcessStatus[], now = Date.now()): Html {
  const rows = processes.map(({ processId, state, report }) => [
    html`<span class="state state-${state}" data-process="${processId}">${state}</span>`,
    html`${report.process.host}:${report.process.pid}<br><span class="muted">${report.groupId} · ${report.clientId}</span>`,
    html`${formatDuration(now - report.process.startedAt)} <span class="muted">v${report.process.version}, ${report.process.node}</span>`,
    html`${formatTime(report.at)} <span class="muted">(${formatDuration(now - report.at)} ago)</span>`,
    formatBytes(report.process.rssBytes),
    `${report.process.cpuPercent.toFixed(0)} %`,
    `${report.process.eventLoopDelayMs.p99.toFixed(1)} ms`,
    html`<span data-running="${processId}">${report.runningJobs.length}</span>`,
    report.partitions.map(
      (p) => html`<div>${p.topic}/${p.partition}: ${p.lanesBusy} busy, ${p.buffered} buffered, committed ${p.committedOffset ?? '-'}${p.collapsed ? html` <span class="badge">collapsed</span>` : ''}</div>`,
    ),
  ]);
  return layout(
    context,
    'Processes',
    table(['state', 'process', 'up', 'last report', 'RSS', 'CPU', 'loop delay p99', 'running', 'partitions'], rows, 'No worker process reported in the last hour.', 'processes'),
  );
}
