/**
 * Jest wiring for the local stand-ins: start them once per test file, point the process
 * environment at them (AWS_ENDPOINT_URL_*, region, the function's keys, SECRET_ID,
 * CHECKPOINT_TABLE) and undo both afterwards.
 *
 *   const env = useStandIns({ region: 'eu-west-1' });
 *   it('...', async () => { env().cloudtrail.addEvents(...); await handler(...); });
 */
import { startStandIns, type StandIns, type StandInsOptions } from '../../standins';

export function useStandIns(opts: StandInsOptions & { putDefaultSecret?: boolean } = {}): () => StandIns {
  let standIns: StandIns | undefined;
  let restoreEnv: (() => void) | undefined;

  beforeAll(async () => {
    standIns = await startStandIns(opts);
    restoreEnv = standIns.applyEnv();
    if (opts.putDefaultSecret ?? true) standIns.putConnectorSecret();
  });

  afterAll(async () => {
    restoreEnv?.();
    await standIns?.stop();
  });

  return () => {
    if (!standIns) throw new Error('stand-ins are not running: call the getter inside a test or hook');
    return standIns;
  };
}
