import { expect } from 'chai';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidOptionError } from '../../../lib/errors.ts';
import { Guard, isLoopback, validateAuth } from '../../../lib/web/security.ts';

/** A request with these headers (all the guard reads). */
function request(headers: Record<string, string>, method = 'GET'): IncomingMessage {
  return { headers, method } as unknown as IncomingMessage;
}

/** A response that records its status, headers and cookies. */
function response(): ServerResponse & { status?: number; written: Record<string, unknown>; cookies: string[] } {
  const recorded = {
    written: {} as Record<string, unknown>,
    cookies: [] as string[],
    status: undefined as number | undefined,
    writeHead(status: number, headers: Record<string, unknown>) {
      recorded.status = status;
      Object.assign(recorded.written, headers);
      return recorded;
    },
    appendHeader(_name: string, value: string) {
      recorded.cookies.push(value);
      return recorded;
    },
    end() {
      return recorded;
    },
  };
  return recorded as unknown as ServerResponse & { status?: number; written: Record<string, unknown>; cookies: string[] };
}

function cookieValue(setCookie: string): string {
  return setCookie.split(';')[0]!;
}

describe('web/security', () => {
  it('isLoopback: 127.0.0.0/8, ::1 and localhost only', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopback(host), host).to.equal(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.4', 'example.com', '128.0.0.1']) expect(isLoopback(host), host).to.equal(false);
  });

  it('validateAuth refuses short secrets and unknown shapes, naming the option', () => {
    expect(() => validateAuth({ token: 'short' }, 'web.auth')).to.throw(InvalidOptionError, 'web.auth.token');
    expect(() => validateAuth({ basic: { username: 'a:b', password: 'long enough' } }, 'web.auth')).to.throw(InvalidOptionError, 'web.auth.basic.username');
    expect(() => validateAuth({ password: 'x' } as never, 'web.auth')).to.throw(InvalidOptionError, 'web.auth');
    expect(() => validateAuth({ hook: () => true }, 'web.auth')).to.not.throw();
  });

  it('CSRF: a form carries the token of its browser cookie; another cookie, no token or a forged one is refused', () => {
    const guard = new Guard(undefined, '/partita');
    const first = response();
    const token = guard.csrfToken(request({}), first);
    expect(first.cookies).to.have.length(1);
    expect(first.cookies[0]).to.match(/^partita_csrf=[0-9a-f]{32}; Path=\/partita; HttpOnly; SameSite=Strict$/);
    const cookie = cookieValue(first.cookies[0]!);
    expect(guard.checkCsrf(request({ cookie }), new URLSearchParams({ csrf: token }))).to.equal(true);
    expect(guard.checkCsrf(request({ cookie }), new URLSearchParams()), 'no token').to.equal(false);
    expect(guard.checkCsrf(request({ cookie }), new URLSearchParams({ csrf: `${token}x` })), 'forged token').to.equal(false);
    expect(guard.checkCsrf(request({}), new URLSearchParams({ csrf: token })), 'no cookie').to.equal(false);
    expect(guard.checkCsrf(request({ cookie: `partita_csrf=${'0'.repeat(32)}` }), new URLSearchParams({ csrf: token })), 'another browser').to.equal(false);
    expect(new Guard(undefined, '').checkCsrf(request({ cookie }), new URLSearchParams({ csrf: token })), 'another handler').to.equal(false);
  });

  it('basic auth: the right pair passes, anything else gets 401 with a challenge', async () => {
    const guard = new Guard({ basic: { username: 'ops', password: 'correct horse' } }, '');
    const url = new URL('http://h/');
    const good = `Basic ${Buffer.from('ops:correct horse').toString('base64')}`;
    expect(await guard.authenticate(request({ authorization: good }), response(), url)).to.equal('allowed');
    const refused = response();
    expect(await guard.authenticate(request({ authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}` }), refused, url)).to.equal('answered');
    expect(refused.status).to.equal(401);
    expect(refused.written['www-authenticate']).to.contain('Basic');
  });

  it('hook: the host app decides', async () => {
    const guard = new Guard({ hook: (req) => req.headers['x-user'] === 'admin' }, '');
    expect(await guard.authenticate(request({ 'x-user': 'admin' }), response(), new URL('http://h/'))).to.equal('allowed');
    const refused = response();
    expect(await guard.authenticate(request({ 'x-user': 'guest' }), refused, new URL('http://h/'))).to.equal('answered');
    expect(refused.status).to.equal(401);
  });
});
