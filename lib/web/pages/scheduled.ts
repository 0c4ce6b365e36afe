import type { DelayTierOverview } from '../../admin/index.ts';
import { html, type Html } from '../html.ts';
import { formatDuration, layout, table, type PageContext } from '../layout.ts';

/** Scheduled jobs: per job topic and delay tier, how many wait. */
export function scheduledPage(context: PageContext, tiers: readonly DelayTierOverview[]): Html {
  const rows = tiers.map((tier) => [
    tier.jobTopic,
    html`${tier.tier} <span class="muted">(${formatDuration(tier.tierMs)} a hop)</span>`,
    html`<span data-waiting="${tier.delayTopic}">${tier.waiting}</span>`,
    tier.partitions.map((p) => `${p.partition}: ${p.next}..${p.end}`).join(' · '),
  ]);
  return layout(context, 'Scheduled', html`<h2>Delay tiers</h2>${table(['job topic', 'tier', 'waiting', 'partitions (next..end)'], rows, 'No delay tiers: no job was scheduled with a wait.', 'delay-tiers')}`);
}
