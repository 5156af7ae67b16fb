// Owns the e2e tests' own redis-server: a child process on a free loopback port with its own temp
// dir and the durable settings of deploy/redis/rushcast-redis.conf (appendonly, appendfsync
// always, noeviction), stopped by PID. Never the system's redis-server service.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, makeTempDir, sleep, trackChild, waitExit } from './daemon.mjs';

export const REDIS_BIN = process.env.REDIS_BIN || ['/usr/bin/redis-server', '/usr/local/bin/redis-server']
  .find((p) => fs.existsSync(p)) || 'redis-server';

// One PING over a fresh connection: true when it answers +PONG.
function ping(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (ok) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(1000, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('*1\r\n$4\r\nPING\r\n'));
    sock.on('data', (d) => { got += d; if (got.includes('\r\n')) done(got.startsWith('+PONG')); });
  });
}

export class RedisServer {
  constructor() {
    this.dir = makeTempDir('rushcast-redis-');
    this.port = 0;
    this.child = null;
  }

  get url() { return `redis://127.0.0.1:${this.port}/0`; }
  get running() { return this.child !== null && this.child.exitCode === null &&
    this.child.signalCode === null; }
  log() {
    const f = path.join(this.dir, 'redis.log');
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  }

  async start(timeoutMs = 30000) {
    if (!this.port) this.port = await freePort();
    const conf = path.join(this.dir, 'redis.conf');
    fs.writeFileSync(conf, [`bind 127.0.0.1`, `port ${this.port}`, `dir ${this.dir}`,
      `logfile ${this.dir}/redis.log`, 'daemonize no', 'save ""', 'appendonly yes',
      'appendfsync always', 'maxmemory-policy noeviction', ''].join('\n'));
    this.child = trackChild(spawn(REDIS_BIN, [conf], { stdio: 'ignore' }));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`redis-server exited at start:\n${this.log()}`);
      if (await ping(this.port)) return this;
      await sleep(20);
    }
    throw new Error(`redis-server did not answer PING in ${timeoutMs} ms:\n${this.log()}`);
  }

  async stop(timeoutMs = 10000) {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    await waitExit(this.child, timeoutMs);
  }

  async cleanup() {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startRedis() {
  const r = new RedisServer();
  await r.start();
  return r;
}
