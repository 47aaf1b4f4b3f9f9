/** Cold start: bundle sizes as the stack bundles them, and module init times. */
import { bundle, initTimes, stackOptionsDrift, type Bundle, type InitTiming } from './bundle';
import { round, say } from './context';
import { INIT_RUNS } from './settings';

export interface ColdStart {
  stackOptionsDrift: string[];
  bundles: Array<Omit<Bundle, 'file' | 'contributors'> & { topContributors: Bundle['contributors']; init: InitTiming; initWithoutSourceMaps: InitTiming }>;
  /** For comparison only: the same bundles with the AWS SDK left to the runtime (not what the stack does). */
  withoutSdk: Array<{ name: string; bytes: number; init: InitTiming }>;
}

export async function coldStart(): Promise<ColdStart> {
  const drift = stackOptionsDrift();
  if (drift.length) say(`  ! infra/service-function.ts no longer reads ${drift.join(', ')}: the bundle options here may be stale`);
  const entries = [
    ['forwarder', 'functions/forwarder/handler.ts'],
    ['test-connection', 'functions/test-connection/handler.ts'],
  ];
  const full: Bundle[] = [];
  const lean: Bundle[] = [];
  for (const [name, entry] of entries) {
    full.push(await bundle(name, entry));
    // node resolves the left-out SDK from node_modules: unminified, as a runtime-provided SDK is.
    lean.push(await bundle(`${name}-sdk-external`, entry, ['@aws-sdk/*', '@smithy/*']));
  }
  const cases = [...full.flatMap((b) => [{ file: b.file, sourceMaps: true }, { file: b.file, sourceMaps: false }]), ...lean.map((b) => ({ file: b.file, sourceMaps: true }))];
  const timings = initTimes(cases, INIT_RUNS);
  const bundles: ColdStart['bundles'] = full.map((b, i) => {
    const { file: _file, contributors, ...rest } = b;
    const [init, initWithoutSourceMaps] = [timings[2 * i], timings[2 * i + 1]];
    say(`  ${b.name}: ${round(b.bytes / 1024)} KiB, init ${round(init.medianMs)} ms (median of ${INIT_RUNS}, --enable-source-maps)`);
    return { ...rest, topContributors: contributors.slice(0, 12), init, initWithoutSourceMaps };
  });
  const withoutSdk = lean.map((b, i) => ({ name: entries[i][0], bytes: b.bytes, init: timings[2 * full.length + i] }));
  return { stackOptionsDrift: drift, bundles, withoutSdk };
}
