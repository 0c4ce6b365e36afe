import type { JobEnvelope } from '../../lib/job/envelope.ts';

/** A `SendEmail` envelope on topic `t` carrying `args`, as unit specs of the codec need it. */
export function sampleEnvelope(args: unknown[]): JobEnvelope {
  return {
    job_class: 'SendEmail',
    job_id: 'id-1',
    queue_name: 't',
    arguments: args,
    executions: 0,
    exception_executions: {},
    enqueued_at: new Date(0).toISOString(),
  };
}
