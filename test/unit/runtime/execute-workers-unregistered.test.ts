import { describe, expect, it } from 'vitest';
// the runtime alone, without the package entry: nothing registered the scale-out launcher
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { CollectSink } from '../helpers/collect-sink.js';

describe('execute(name, { workers }) without the scale-out module', () => {
  it('says how to get it', () => {
    const env = StreamEnvironment.create({ pravega: 'tcp://127.0.0.1:1' });
    env.fromSource(SequenceSource.bounded(0, 10)).sinkTo(new CollectSink<number>());
    expect(() => env.execute('j', { workers: 2 })).toThrow(
      /workers > 1 needs the scale-out module: import StreamEnvironment from the 'tributary' package entry/,
    );
  });
});
