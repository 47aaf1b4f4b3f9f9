/**
 * The Jest environment of every test file: output written while a test runs (Powertools logs,
 * console.*, stand-in chatter, the fault suite's figures) is held back and printed only for a
 * test that fails, with its name. A green `npm test` prints the report and nothing else.
 * TEST_VERBOSE=1 (or FAULTS_FULL / FAULTS_VERBOSE for the fault suite) lets everything through.
 */
import { Console } from 'console';
import { Writable } from 'stream';
import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';

const VERBOSE = ['TEST_VERBOSE', 'FAULTS_FULL', 'FAULTS_VERBOSE'].some((v) => /^(1|true|yes)$/i.test(process.env[v] ?? ''));

export default class QuietEnvironment extends TestEnvironment {
  private held: string[] = [];
  private restore?: () => void;

  override async setup(): Promise<void> {
    await super.setup();
    if (VERBOSE) return;
    const streams = [process.stdout, process.stderr] as const;
    const originals = streams.map((s) => s.write);
    const hold = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      this.held.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      done?.();
      return true;
    }) as typeof process.stdout.write;
    for (const s of streams) s.write = hold;
    this.restore = () => streams.forEach((s, i) => (s.write = originals[i]));
    this.realStderr = originals[1].bind(process.stderr);
  }

  private realStderr?: (text: string) => boolean;

  async handleTestEvent(event: Circus.Event): Promise<void> {
    if (VERBOSE || !this.realStderr) return;
    if (event.name === 'setup') {
      // Jest's own console (set after setup()) would print each call with a stack: hold it too.
      const holding = new Writable({
        write: (chunk: Buffer | string, _encoding, done) => {
          this.held.push(chunk.toString());
          done();
        },
      });
      this.global.console = new Console({ stdout: holding, stderr: holding });
    }
    if (event.name === 'test_done') {
      if (event.test.errors.length > 0 && this.held.length > 0) {
        this.realStderr(`\n--- output of the failed test "${fullName(event.test)}" ---\n${this.held.join('')}--- end of output ---\n`);
      }
      this.held = [];
    }
  }

  override async teardown(): Promise<void> {
    this.restore?.();
    await super.teardown();
  }
}

function fullName(test: Circus.TestEntry): string {
  const names: string[] = [test.name];
  for (let block: Circus.DescribeBlock | undefined = test.parent; block && block.parent; block = block.parent) names.unshift(block.name);
  return names.join(' › ');
}
