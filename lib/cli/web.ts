import { UsageError } from '../index.ts';
import { parseCommand, refuseExtraArguments } from './args.ts';

const WEB_USAGE = `usage: partita web [options]

Serves Partita Web (dashboard, consumer groups, processes, errors, dead letters, scheduled jobs,
topics), read from Kafka alone. Listens on 127.0.0.1 unless --host says otherwise; any other
address needs --token or --basic. SIGINT/SIGTERM stop it.

options:
  --host <address>            address to listen on (default 127.0.0.1)
  --port <n>                  port to listen on (default 9290)
  --brokers <host:port,...>   the cluster (default: $KAFKA_BROKERS, else 127.0.0.1:9092)
  --base-path <path>          serve under this path, e.g. /partita (behind a proxy)
  --read-only                 show everything, replay nothing
  --token <secret>            require this token (or $PARTITA_WEB_TOKEN): open the printed URL once,
                              or send "Authorization: Bearer <secret>"
  --basic <user:password>     require HTTP basic auth (or $PARTITA_WEB_BASIC)
  --dlq <topic>               also list this dead-letter topic (repeatable; *.dlq topics are found)
  -h, --help                  show this help`;

/** `partita web ...`: serves until a signal; returns -1 (the process keeps running), or 0 for help. */
export async function runWeb(args: readonly string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommand('web', args, {
    host: { type: 'string' },
    port: { type: 'string' },
    brokers: { type: 'string' },
    'base-path': { type: 'string' },
    'read-only': { type: 'boolean' },
    token: { type: 'string' },
    basic: { type: 'string' },
    dlq: { type: 'string', multiple: true },
  });
  if (values.help) {
    out(WEB_USAGE);
    return 0;
  }
  refuseExtraArguments('web', positionals, 0);
  const port = Number(values.port ?? 9290);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError('web', `--port expects a port number 0..65535, got ${JSON.stringify(values.port)}`);
  const token = values.token ?? (process.env.PARTITA_WEB_TOKEN || undefined);
  const basic = values.basic ?? (process.env.PARTITA_WEB_BASIC || undefined);
  if (token !== undefined && basic !== undefined) throw new UsageError('web', 'give --token or --basic, not both');
  let auth: import('../web/index.ts').WebAuth | undefined;
  if (token !== undefined) auth = { token };
  if (basic !== undefined) {
    const at = basic.indexOf(':');
    if (at <= 0) throw new UsageError('web', '--basic expects user:password');
    auth = { basic: { username: basic.slice(0, at), password: basic.slice(at + 1) } };
  }
  const brokers = (values.brokers ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const { startWebServer } = await import('../web/index.ts');
  const server = await startWebServer({
    kafka: { brokers, clientId: 'partita-web' },
    host: values.host ?? '127.0.0.1',
    port,
    basePath: values['base-path'],
    readOnly: values['read-only'] ?? false,
    auth,
    deadLetterTopics: values.dlq,
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void server.close().then(() => process.exit(0));
    });
  }
  const shown = auth !== undefined && 'token' in auth ? `${server.url}?token=<your token>` : server.url;
  out(`partita web: ${shown}${values['read-only'] ? ' (read-only)' : ''} on ${brokers.join(',')}`);
  return -1;
}
