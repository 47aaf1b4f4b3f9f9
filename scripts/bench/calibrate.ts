/**
 * What a bare loopback HTTP request costs on this machine, in the client's CPU time, when the two
 * processes are busy (back to back) and when both have been idle for a while (as at the API limit,
 * where the forwarder waits ~500 ms between LookupEvents calls). Lets figures from different
 * machines be compared: virtual machines make waking an idle process expensive.
 */
import { fork } from 'node:child_process';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { FIXTURES_PATH } from '../../standins/fixtures';

export interface Calibration {
  /** Client CPU µs per request (500-byte POST, keep-alive), by pause before each request (ms). */
  cpuMicrosPerRequestByPauseMs: Record<string, number>;
  /** µs to JSON.parse and JSON.stringify one shared real record (median of 7 rounds): CPU speed now. */
  jsonRoundTripMicros: number;
}

/** A fixed CPU-bound task, so figures taken on a slower (or busier) machine can be recognised. */
function jsonRoundTrip(): number {
  const lines = readFileSync(FIXTURES_PATH, 'utf8').split('\n').filter(Boolean);
  const rounds: number[] = [];
  let bytes = 0; // used below, so the work cannot be optimised away
  for (let r = 0; r < 7; r++) {
    const t = performance.now();
    for (let i = 0; i < 100; i++) for (const line of lines) bytes += JSON.stringify(JSON.parse(line)).length;
    rounds.push(((performance.now() - t) * 1000) / (100 * lines.length));
  }
  if (bytes === 0) throw new Error('no fixture records');
  return Math.round(rounds.sort((a, b) => a - b)[3] * 100) / 100;
}

const PAUSES = [0, 500];

/** Child side: requests with pauses, reports CPU per request. */
async function client(port: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end('x'.repeat(500));
    });
  for (let i = 0; i < 200; i++) await once(); // warm up
  const out: Record<string, number> = {};
  for (const pause of PAUSES) {
    const n = pause === 0 ? 400 : 16;
    let cpu = 0;
    for (let i = 0; i < n; i++) {
      if (pause) await new Promise((r) => setTimeout(r, pause));
      const c0 = process.cpuUsage();
      await once();
      const c = process.cpuUsage(c0);
      cpu += c.user + c.system;
    }
    out[String(pause)] = Math.round(cpu / n);
  }
  process.send?.(out);
  agent.destroy();
}

export async function calibrate(): Promise<Calibration> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{"ok":true}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const child = fork(__filename, ['--calibration-client', String((server.address() as AddressInfo).port)], { execArgv: ['--import', 'tsx'] });
    const result = await new Promise<Record<string, number>>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Record<string, number>));
      child.once('exit', (code) => reject(new Error(`calibration client exited with ${code}`)));
    });
    child.kill();
    return { cpuMicrosPerRequestByPauseMs: result, jsonRoundTripMicros: jsonRoundTrip() };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

if (process.argv[2] === '--calibration-client') void client(Number(process.argv[3]));
