import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { containerLabels, ownerIsGone } from '../../../src/testing/container-labels.js';

/** Which leftover containers a new test run may remove: only those whose owner is certainly gone. */
describe('container owner labels', () => {
  const startOf = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  };

  it('names this host, this process and its start time', () => {
    const labels = containerLabels();
    expect(labels['tributary.testing']).toBe('true');
    expect(labels['tributary.testing.owner'] ?? '').toMatch(/^.+:\d+:\S+$/);
    expect(labels['tributary.testing.run']).toMatch(/^\S+$/);
  });

  it('a live owner is not gone', () => {
    expect(ownerIsGone(`${hostname()}:${process.pid}:${startOf(process.pid)}`)).toBe(false);
  });

  it('an exited owner is gone', () => {
    const child = spawnSync('sh', ['-c', 'echo $$']);
    const pid = Number(child.stdout.toString().trim());
    expect(ownerIsGone(`${hostname()}:${pid}:1`)).toBe(true);
  });

  it('a pid now used by a process started at another time is gone', () => {
    expect(ownerIsGone(`${hostname()}:${process.pid}:1`)).toBe(true);
  });

  it('owners on other hosts are never judged', () => {
    expect(ownerIsGone(`not-${hostname()}:999999:1`)).toBe(false);
    expect(ownerIsGone('garbage')).toBe(false);
  });
});
