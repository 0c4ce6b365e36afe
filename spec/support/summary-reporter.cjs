// Mocha's spec reporter plus a closing "N passed, N failed" line (also written to a file when
// PARTITA_SUMMARY_FILE is set, so the test script can print it last).
'use strict';
const fs = require('node:fs');
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      const line = `${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}`;
      process.stdout.write(`\n${line}\n`);
      if (process.env.PARTITA_SUMMARY_FILE) fs.writeFileSync(process.env.PARTITA_SUMMARY_FILE, `${line}\n`);
    });
  }
}

module.exports = SummaryReporter;
