import { expect } from 'chai';
import { InvalidOptionError, SerializationError } from '../../../lib/errors.ts';
import { Job } from '../../../lib/job/job.ts';
import { RoutesBuilder } from '../../../lib/routing/route.ts';

class NightlyReport extends Job<[region: string, days: number]> {
  static override options = { topic: 'reports' };
  async perform(): Promise<void> {}
}

describe('recurring declarations (unit)', () => {
  it('records name, parsed schedule, job, arguments and the defaults', () => {
    const routes = new RoutesBuilder();
    routes.recurring('nightly-report', '0 3 * * *', NightlyReport, ['eu', 7], { timezone: 'Europe/Berlin' });
    const [definition] = routes.schedules;
    expect(definition!.name).to.equal('nightly-report');
    expect(definition!.schedule.expression).to.equal('0 3 * * *');
    expect(definition!.schedule.timezone).to.equal('Europe/Berlin');
    expect(definition!.jobClass).to.equal(NightlyReport);
    expect(definition!.args).to.deep.equal(['eu', 7]);
    expect(definition!.missed).to.equal('run-once');
    expect(definition!.catchUpWindowMs).to.equal(60_000);
    routes.recurring('hourly', '0 * * * *', NightlyReport, ['us', 1], { missed: 'skip', catchUpWindowMs: 5_000 });
    expect(routes.schedules[1]!.schedule.timezone).to.equal('UTC');
    expect(routes.schedules[1]!.missed).to.equal('skip');
  });

  it('refuses what cannot work, naming the option', () => {
    const routes = new RoutesBuilder();
    routes.recurring('a', '0 3 * * *', NightlyReport, ['eu', 1]);
    expect(() => routes.recurring('a', '0 4 * * *', NightlyReport, ['eu', 1])).to.throw(InvalidOptionError, /routes\.recurring\.a: two recurring jobs have this name/);
    expect(() => routes.recurring('b c', '0 3 * * *', NightlyReport, ['eu', 1])).to.throw(InvalidOptionError, /routes\.recurring: expected a name/);
    expect(() => routes.recurring('b', '0 3 * *', NightlyReport, ['eu', 1])).to.throw(InvalidOptionError, /routes\.recurring\.b\.cron/);
    expect(() => routes.recurring('b', '0 3 * * *', NightlyReport, ['eu', 1], { timezone: 'Europe/Nowhere' })).to.throw(InvalidOptionError, /routes\.recurring\.b\.timezone/);
    // @ts-expect-error an unknown policy is refused by the compiler too
    expect(() => routes.recurring('b', '0 3 * * *', NightlyReport, ['eu', 1], { missed: 'run-all' })).to.throw(InvalidOptionError, /routes\.recurring\.b\.missed: expected 'run-once' or 'skip'/);
    expect(() => routes.recurring('b', '0 3 * * *', NightlyReport, ['eu', 1], { catchUpWindowMs: 10 })).to.throw(InvalidOptionError, /routes\.recurring\.b\.catchUpWindowMs/);
    // @ts-expect-error an unknown option is refused by the compiler too
    expect(() => routes.recurring('b', '0 3 * * *', NightlyReport, ['eu', 1], { timeZone: 'UTC' })).to.throw(InvalidOptionError, /timeZone/);
    // @ts-expect-error the arguments are the job's
    expect(() => routes.recurring('b', '0 3 * * *', NightlyReport, 'eu')).to.throw(InvalidOptionError, /routes\.recurring\.b\.args/);
    expect(() => routes.recurring('b', '0 3 * * *', NightlyReport, ['eu', (() => 1) as unknown as number])).to.throw(SerializationError, /arguments\[1\] is a function/);
    expect(routes.schedules).to.have.length(1);
  });
});
