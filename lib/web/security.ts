import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { InvalidOptionError } from '../index.ts';

/**
 * Who may use Partita Web. Without one, only a loopback address may be listened on.
 * - `{ token }`: `Authorization: Bearer <token>`, or open any page once with `?token=<token>`
 *   (the browser then keeps an HttpOnly session cookie and the token leaves the address bar).
 * - `{ basic: { username, password } }`: HTTP basic authentication (use it behind TLS).
 * - `{ hook }`: the host app decides, from the request (its session, its own auth middleware).
 */
export type WebAuth =
  | {
      /** A bearer token: requests send `Authorization: Bearer <token>` (or sign in once with it). */
      token: string;
    }
  | {
      /** HTTP basic authentication with one user. */
      basic: {
        /** The user name. */
        username: string;
        /** The password. */
        password: string;
      };
    }
  | {
      /** The host app decides: resolve true to let the request through. */
      hook: (request: IncomingMessage) => boolean | Promise<boolean>;
    };

/** Names of the cookies Partita Web sets. */
const SESSION_COOKIE = 'partita_session';
const CSRF_COOKIE = 'partita_csrf';

/** Every response's security headers: scripts and styles only from our own files, nothing framed. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/** True for an address only this host can reach: 127.0.0.0/8, ::1, `localhost`. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** Checks an auth option's shape, naming the option path in the error. */
export function validateAuth(auth: WebAuth | undefined, option: string): void {
  if (auth === undefined) return;
  if (auth === null || typeof auth !== 'object') throw new InvalidOptionError(option, 'expected { token }, { basic: { username, password } } or { hook }');
  if ('token' in auth) {
    if (typeof auth.token !== 'string' || auth.token.length < 16) throw new InvalidOptionError(`${option}.token`, 'expected a secret of at least 16 characters');
  } else if ('basic' in auth) {
    const { username, password } = auth.basic ?? {};
    if (typeof username !== 'string' || username === '' || username.includes(':')) throw new InvalidOptionError(`${option}.basic.username`, 'expected a non-empty name without ":"');
    if (typeof password !== 'string' || password.length < 8) throw new InvalidOptionError(`${option}.basic.password`, 'expected a password of at least 8 characters');
  } else if ('hook' in auth) {
    if (typeof auth.hook !== 'function') throw new InvalidOptionError(`${option}.hook`, 'expected a function (request) => boolean');
  } else {
    throw new InvalidOptionError(option, 'expected { token }, { basic: { username, password } } or { hook }');
  }
}

/** What {@link Guard.authenticate} decided: go on, or the response was already sent. */
export type AuthOutcome = 'allowed' | 'answered';

/**
 * Authentication and CSRF protection of one handler. Tokens are HMACs under a secret made when the
 * handler is created, so they hold for as long as the process runs and nothing is stored.
 */
export class Guard {
  readonly #secret = randomBytes(32);
  readonly #auth: WebAuth | undefined;
  readonly #cookiePath: string;

  /**
   * @param auth who may use the pages (undefined: everyone who reaches them)
   * @param cookiePath the path the cookies are scoped to (the base path)
   */
  constructor(auth: WebAuth | undefined, cookiePath: string) {
    this.#auth = auth;
    this.#cookiePath = cookiePath === '' ? '/' : cookiePath;
  }

  /**
   * Lets the request through, or answers it: 401 (with a basic-auth challenge for `basic`), or a
   * redirect that drops `?token=` from the address after setting the session cookie.
   */
  async authenticate(request: IncomingMessage, response: ServerResponse, url: URL): Promise<AuthOutcome> {
    const auth = this.#auth;
    if (auth === undefined) return 'allowed';
    if ('hook' in auth) {
      if (await auth.hook(request)) return 'allowed';
      return this.#refuse(response, {});
    }
    if ('basic' in auth) {
      const given = /^Basic (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
      const expected = `${auth.basic.username}:${auth.basic.password}`;
      if (given !== undefined && sameText(Buffer.from(given, 'base64').toString('utf8'), expected)) return 'allowed';
      return this.#refuse(response, { 'www-authenticate': 'Basic realm="Partita", charset="UTF-8"' });
    }
    const bearer = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (bearer !== undefined && sameText(bearer, auth.token)) return 'allowed';
    const session = cookiesOf(request).get(SESSION_COOKIE);
    if (session !== undefined && sameText(session, this.#sign('session'))) return 'allowed';
    const query = url.searchParams.get('token');
    if (query !== null && sameText(query, auth.token) && request.method === 'GET') {
      url.searchParams.delete('token');
      response.writeHead(303, {
        ...SECURITY_HEADERS,
        location: url.pathname + url.search,
        'set-cookie': this.#cookie(SESSION_COOKIE, this.#sign('session')),
      });
      response.end();
      return 'answered';
    }
    return this.#refuse(response, {});
  }

  /**
   * The CSRF token to put in the forms of the page answering `request`, setting the CSRF cookie on
   * `response` when the browser has none yet.
   */
  csrfToken(request: IncomingMessage, response: ServerResponse): string {
    let nonce = cookiesOf(request).get(CSRF_COOKIE);
    if (nonce === undefined || !/^[0-9a-f]{32}$/.test(nonce)) {
      nonce = randomBytes(16).toString('hex');
      response.appendHeader('set-cookie', this.#cookie(CSRF_COOKIE, nonce));
    }
    return this.#sign(`csrf:${nonce}`);
  }

  /** True when a POST carries the token of the browser's CSRF cookie in its `csrf` field. */
  checkCsrf(request: IncomingMessage, form: URLSearchParams): boolean {
    const nonce = cookiesOf(request).get(CSRF_COOKIE);
    const token = form.get('csrf');
    return nonce !== undefined && token !== null && sameText(token, this.#sign(`csrf:${nonce}`));
  }

  #sign(purpose: string): string {
    return createHmac('sha256', this.#secret).update(purpose).digest('base64url');
  }

  #cookie(name: string, value: string): string {
    return `${name}=${value}; Path=${this.#cookiePath}; HttpOnly; SameSite=Strict`;
  }

  #refuse(response: ServerResponse, headers: Record<string, string>): AuthOutcome {
    response.writeHead(401, { ...SECURITY_HEADERS, ...headers, 'content-type': 'text/plain; charset=utf-8' });
    response.end('Partita Web: authentication required.\n');
    return 'answered';
  }
}

function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookiesOf(request: IncomingMessage): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) cookies.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  return cookies;
}
