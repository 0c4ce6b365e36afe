import type { DelayTierOverview, RecurringScheduleStatus } from '../../admin/index.ts';
import { html, type Html } from '../html.ts';
import { formatDuration, formatTime, layout, table, type PageContext } from '../layout.ts';

/** A recurring schedule and the consumer group (app) whose ticker runs it. */
export interface GroupRecurringSchedule {
  groupId: string;
  schedule: RecurringScheduleStatus;
}

/** Scheduled jobs: per job topic and delay tier, how many wait and when the next is due; the recurring schedules with their next run. */
export function scheduledPage(context: PageContext, tiers: readonly DelayTierOverview[], recurring: readonly GroupRecurringSchedule[], now = Date.now()): Html {
  const due = (at: Date | undefined) => (at === undefined ? '-' : html`${formatTime(at)} <span class="muted">(${at.getTime() <= now ? 'due now' : `in ${formatDuration(at.getTime() - now)}`})</span>`);
  const tierRows = tiers.map((tier) => [
    tier.jobTopic,
    html`${tier.tier} <span class="muted">(${formatDuration(tier.tierMs)} a hop)</span>`,
    html`<span data-waiting="${tier.delayTopic}">${tier.waiting}</span>`,
    html`<span data-next-hop="${tier.delayTopic}">${due(tier.nextHopAt)}</span>`,
    due(tier.nextDueAt),
  ]);
  const recurringRows = recurring.map(({ groupId, schedule }) => [
    html`<span data-recurring="${schedule.name}">${schedule.name}</span>`,
    html`<code>${schedule.cron}</code> <span class="muted">${schedule.timezone}</span>`,
    html`${schedule.jobClass} <span class="muted">to ${schedule.topic}</span>`,
    formatTime(schedule.lastTick),
    html`<span data-next-run="${schedule.name}">${due(schedule.nextRun)}</span>`,
    html`${groupId} <span class="muted">${schedule.owner}, missed: ${schedule.missed}</span>`,
  ]);
  return layout(
    context,
    'Scheduled',
    html`<h2>Delay tiers</h2>
${table(['job topic', 'tier', 'waiting', 'next leaves the tier', 'next job due'], tierRows, 'No delay tiers: no job was scheduled with a wait.', 'delay-tiers')}
<h2>Recurring jobs</h2>
${table(['schedule', 'cron', 'job', 'last tick', 'next run', 'app (group)'], recurringRows, 'No recurring jobs.', 'recurring')}`,
  );
}
