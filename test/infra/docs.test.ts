/**
 * The docs say what the code does: the one URL-caller policy, the outputs the runbook names,
 * the variables the stack sets, the scope on the README's first screen, the demo's legend.
 */
import * as fs from 'fs';
import * as path from 'path';
import { functionUrlCallerStatements } from '../../infra/permissions';
import { build, props } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const deploy = read('docs/deploy.md');
const readme = read('README.md');

describe('docs/deploy.md', () => {
  it('shows the function-URL caller policy the construct grants, in one place', () => {
    const marker = deploy.indexOf('<!-- function-url-caller-policy');
    const block = /```json\n([\s\S]*?)\n```/.exec(deploy.slice(marker));
    expect(marker).toBeGreaterThan(0);
    const documented = JSON.parse(block?.[1] ?? 'null');
    const arn = '<TestConnectionFunctionArn>';
    expect(documented).toEqual({ Version: '2012-10-17', Statement: functionUrlCallerStatements(arn).map((s) => s.toStatementJson()) });
    // The other docs point here instead of writing their own.
    for (const file of ['README.md', 'docs/test-connection.md']) expect(read(file)).not.toMatch(/"Action": "lambda:InvokeFunction/);
  });

  it('documents every stack output, including the schedule rule name the runbook asks for', () => {
    const outputs = Object.keys(build().template.findOutputs('*'));
    expect(outputs).toContain('ScheduleRuleName');
    expect(outputs.filter((key) => !deploy.includes(`\`${key}\``))).toEqual([]);
    expect(deploy).toContain('describe-rule --name <ScheduleRuleName>');
  });

  it('documents the outputs of a trail-file stack, and of a trail-file connector among many', () => {
    const single = Object.keys(build({ source: 's3', trailBucket: 'org-log-archive' }).template.findOutputs('*'));
    expect(single).toContain('TrailQueueArn');
    expect(single.filter((key) => !deploy.includes(`\`${key}\``))).toEqual([]);
    const mixed = Object.keys(build({ connectors: [{ name: 'prod' }, { name: 'trail', source: 's3', trailBucket: 'org-log-archive' }] }).template.findOutputs('*'));
    const documented = (key: string) => deploy.includes(`\`${key}\``) || deploy.includes(`\`${key.replace(/(prod|trail)$/, '<name>')}\``);
    expect(mixed.filter((key) => !documented(key))).toEqual([]);
  });

  it('claims no secret rotation the stack does not set up, and names the DNIF endpoint shape', () => {
    expect(deploy).not.toMatch(/rotation on/);
    expect(deploy).toContain('https://<tenant>.dnif.cloud:2882/<id>/default/<id>/events');
    expect(deploy).toContain('## In DNIF');
  });
});

describe('README.md', () => {
  it('states the scope on its first screen: management events only, the 100 events/s ceiling, data events need S3', () => {
    const firstScreen = readme.split('\n').slice(0, 25).join('\n');
    expect(firstScreen).toMatch(/management events/);
    expect(firstScreen).toMatch(/100 events\/s/);
    expect(firstScreen).toMatch(/data events/i);
  });

  it('says the stack sets exactly the variables it sets', () => {
    const sentence = /The stack sets ([^.]*)\(/.exec(readme)?.[1] ?? '';
    const named = [...sentence.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]).sort();
    const env = props(build().template, 'AWS::Lambda::Function', 'ForwarderFunction').Environment.Variables;
    const set = Object.keys(env).filter((k) => !k.startsWith('POWERTOOLS_') && k !== 'NODE_OPTIONS').sort();
    expect(named).toEqual(set);
  });

  it('shows a demo sample with the legend the demo prints (compressed time, dup skipped, lag s)', () => {
    const demo = read('scripts/demo.ts');
    for (const phrase of ['Time is compressed', 'dup skipped = ', 'lag s = ']) {
      expect(demo).toContain(phrase);
      expect(readme).toContain(phrase);
    }
  });
});
