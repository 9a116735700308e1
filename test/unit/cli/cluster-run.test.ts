import { describe, expect, it } from 'vitest';
import { checkClusterController, workerArgv } from '../../../src/cli/cluster-run.js';

describe('tributary run --workers', () => {
  it('each worker runs the same command line with --join <job> instead of --workers N', () => {
    expect(
      workerArgv(['run', 'job.ts', '--workers', '3', '--controller', 'tcp://h:9090'], 'orders'),
    ).toEqual(['run', 'job.ts', '--controller', 'tcp://h:9090', '--join', 'orders']);
    expect(workerArgv(['run', '--workers=4', 'job.ts', '--', '--workers', '9'], 'j')).toEqual([
      'run',
      'job.ts',
      '--join',
      'j',
      '--',
      '--workers',
      '9',
    ]);
  });

  it('worker i serves its status page and metrics on the given port + i (0 stays a free port)', () => {
    const argv = [
      'run',
      'job.ts',
      '--workers',
      '3',
      '--status-port',
      '9400',
      '--metrics-port=9500',
    ];
    expect(workerArgv(argv, 'j', 0)).toEqual([
      'run',
      'job.ts',
      '--status-port',
      '9400',
      '--metrics-port=9500',
      '--join',
      'j',
    ]);
    expect(workerArgv(argv, 'j', 2)).toEqual([
      'run',
      'job.ts',
      '--status-port',
      '9402',
      '--metrics-port=9502',
      '--join',
      'j',
    ]);
    expect(workerArgv(['run', 'job.ts', '--status-port', '0'], 'j', 2)).toEqual([
      'run',
      'job.ts',
      '--status-port',
      '0',
      '--join',
      'j',
    ]);
    // after `--` the arguments are the job's own
    expect(workerArgv(['run', 'job.ts', '--', '--status-port', '7'], 'j', 1)).toEqual([
      'run',
      'job.ts',
      '--join',
      'j',
      '--',
      '--status-port',
      '7',
    ]);
  });

  it('needs a server every worker reaches: the embedded store is refused with the reason', () => {
    expect(() => checkClusterController({ controllerUri: 'embedded:./data' })).toThrow(
      /embedded store embedded:\.\/data belongs to one process/,
    );
    expect(() => checkClusterController({ controllerUri: 'tcp://h:9090' })).not.toThrow();
  });
});
