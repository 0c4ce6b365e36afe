import { createApp, type App, type AppConfig } from '../../lib/app.ts';
import { testBrokers, unique } from './kafka.ts';

const running = new Set<App>();

/** An app on the test broker with a unique group and short timings; stopped by {@link stopApps}. */
export function testApp(config: Partial<AppConfig> = {}): App {
  const app = createApp({
    clientId: unique('spec'),
    groupId: unique('group'),
    shutdownTimeoutMs: 10_000,
    backoff: { timeout: 200, maxTimeout: 2000 },
    commitIntervalMs: 50,
    // Quiet spec output: the logging specs look at logs, in child processes.
    ...(config.logger === undefined ? { logLevel: 'silent' as const } : {}),
    ...config,
    kafka: { brokers: testBrokers(), logLevel: 'nothing', ...config.kafka },
    consumer: { maxWaitTimeInMs: 100, sessionTimeout: 10_000, rebalanceTimeout: 20_000, heartbeatInterval: 1000, ...config.consumer },
  });
  running.add(app);
  return app;
}

/** Stops every app a spec started (call in afterEach). */
export async function stopApps(): Promise<void> {
  const apps = [...running];
  running.clear();
  await Promise.all(apps.map((app) => app.stop()));
}
