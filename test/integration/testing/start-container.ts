import { PravegaContainer } from '../../../src/testing/index.js';

// Starts a PravegaContainer and never stops it: the leftover test kills this process meanwhile.
await new PravegaContainer(process.argv[2]).start();
await new Promise(() => undefined);
