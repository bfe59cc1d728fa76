import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busAuth, parseBusUrl } from '../src/bus/connection.js';
import { loadConfig } from '../src/config.js';
import { parse, shownUrl } from '../src/options.js';
import { bin, type NatsServer, natsSkipReason, startNatsServer } from './helpers/nats-server.js';

const SECRET = 'SECRET_TEST_123';

/** The error thrown by `call`, as text (message and hint): it must never hold the secret. */
function refusal(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    return `${(error as Error).message} ${(error as { hint?: string }).hint ?? ''}`;
  }
  throw new Error('expected a refusal');
}

describe('secrets in URLs: refused without being echoed', () => {
  it('--bus with a login in it names the environment variables instead', () => {
    for (const value of [
      `nats://alice:${SECRET}@127.0.0.1:4222`,
      `nats://${SECRET}@127.0.0.1:4222`,
      // Without a scheme, and inside a list of servers: refused as a login too, not echoed.
      `alice:${SECRET}@127.0.0.1:4222`,
      `nats://127.0.0.1:4222,alice:${SECRET}@127.0.0.1:4223`,
    ]) {
      const text = refusal(() => parseBusUrl(value));
      expect(text).toMatch(/carries a user, password or token.*NATS_USER and NATS_PASSWORD, NATS_TOKEN/);
      expect(text).not.toContain(SECRET);
    }
    expect(parseBusUrl('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
  });

  it('the bus login comes from the environment only', () => {
    expect(busAuth({})).toEqual({});
    expect(busAuth({ NATS_TOKEN: SECRET })).toEqual({ token: SECRET });
    expect(busAuth({ NATS_USER: 'alice', NATS_PASSWORD: SECRET })).toEqual({ user: 'alice', pass: SECRET });
    expect(refusal(() => busAuth({ NATS_USER: 'alice' }))).toMatch(/without NATS_PASSWORD/);
    expect(refusal(() => busAuth({ NATS_CREDS: '/nonexistent/x.creds' }))).toMatch(
      /NATS_CREDS.*cannot be read/,
    );
  });

  it('--base-url and --webhook refuse a login and other schemes; a webhook travels over https', () => {
    for (const value of [`https://user:${SECRET}@api.example.com`, 'ftp://127.0.0.1/x']) {
      const text = refusal(() => parse.url(value));
      expect(text).not.toContain(SECRET);
    }
    const plain = refusal(() => parse.webhookUrl(`http://hooks.example.com/services/${SECRET}`));
    expect(plain).toMatch(/expected https:\/\/hooks\.example\.com\/…/);
    expect(plain).not.toContain(SECRET);
    expect(refusal(() => parse.url(`hooks.example.com/services/${SECRET}`))).not.toContain(SECRET);
    expect(parse.webhookUrl(`https://hooks.example.com/services/${SECRET}`)).toContain(SECRET);
    expect(parse.webhookUrl('http://127.0.0.1:8080/hook')).toBe('http://127.0.0.1:8080/hook');
    expect(shownUrl(`https://hooks.example.com/services/${SECRET}?token=${SECRET}`)).toBe(
      'https://hooks.example.com/…',
    );
  });

  it('a config file refuses a base URL with a login in it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrets-config-'));
    try {
      const path = join(dir, 'crypto-anomaly.config.json');
      writeFileSync(path, JSON.stringify({ baseUrl: `https://user:${SECRET}@api.example.com` }));
      const error = await loadConfig(path).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).toMatch(/without a user or password/);
      expect(error?.message).not.toContain(SECRET);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(natsSkipReason !== undefined)('a bus that wants a login (a real nats-server)', () => {
  let server: NatsServer;
  let work: string;
  beforeAll(async () => {
    server = await startNatsServer(['--user', 'alice', '--pass', SECRET]);
    work = mkdtempSync(join(tmpdir(), 'bus-auth-'));
  });
  afterAll(async () => {
    await server?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  const ingest = (env: Record<string, string>, bus = server.url) =>
    spawnSync(
      process.execPath,
      [bin, 'ingest', '--bus', bus, '--symbols', 'BTCUSDT', '--replay', 'sample', '--candles', '30'],
      {
        cwd: work,
        env: { ...process.env, CI: 'true', NO_COLOR: '1', ...env },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );

  it('says the server wants a login, and logs in with NATS_USER and NATS_PASSWORD', () => {
    const without = ingest({});
    expect(without.status).toBe(1);
    expect(without.stderr).toMatch(
      /refused the login: Authorization Violation[\s\S]*the server wants a login: set NATS_USER/,
    );
    // A wrong login is said to be wrong, not missing.
    const wrong = ingest({ NATS_USER: 'alice', NATS_PASSWORD: 'not-it' });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/refused the login[\s\S]*check the login the environment gives/);
    expect(wrong.stderr).not.toContain('not-it');
    const withLogin = ingest({ NATS_USER: 'alice', NATS_PASSWORD: SECRET });
    expect(withLogin.stderr).toMatch(/finished, 30 candles stored/);
    expect(withLogin.status).toBe(0);
    expect(`${withLogin.stdout}${withLogin.stderr}${without.stderr}`).not.toContain(SECRET);
  });

  it('gives up on a bus nobody answers with an error naming --bus, instead of waiting for ever', () => {
    const closed = ingest({}, 'nats://127.0.0.1:9');
    expect(closed.signal).toBeNull();
    expect(closed.status).toBe(1);
    expect(closed.stderr).toMatch(/cannot reach the NATS server at nats:\/\/127\.0\.0\.1:9/);
  });
});
