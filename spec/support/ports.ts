import { createServer, type AddressInfo } from 'node:net';

/** A port on 127.0.0.1 where nothing listens now (bound, then released). */
export async function freePort(): Promise<number> {
  return listenAndRelease(0);
}

/**
 * A port on 127.0.0.1 where nothing listens now, nor on the port above it: for a broker, whose
 * controller listens one above (a free port alone once met a taken controller port in CI).
 */
export async function freeBrokerPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port < 65_535 && (await listenAndRelease(port + 1).then(() => true, () => false))) return port;
  }
}

/** Binds `port` (0: any) on 127.0.0.1, releases it, and says which port it was. */
async function listenAndRelease(port: number): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return bound;
}
