import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** The README's first lines are the two set-up commands, and CI runs exactly its test command. */
describe('README', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
  const block = /^# sqlbridge\n\n```sh\n([^`]+)```/.exec(readme)?.[1] ?? '';
  const [demo, test] = block
    .trim()
    .split('\n')
    .map(line => line.replace(/\s+#.*$/, '').trim());

  it('opens with the command that starts the demo and the one that runs the tests', () => {
    expect(demo).toBe('npm install && npm start');
    expect(test).toBe('npm test');
  });

  it('is what CI runs, after installing', () => {
    const commands = ci
      .split('\n')
      .map(line => line.trim())
      .filter(line => line !== '' && !line.startsWith('#') && !line.startsWith('set ') && !line.startsWith('cd '));
    expect(commands[0]).toBe('npm ci');
    expect(commands.at(-1)).toBe(test);
    expect(commands.filter(line => line.startsWith('npm '))).toEqual(['npm ci', test]);
  });
});
