export { PravegaSource, type PravegaSourceSettings, type StreamSpec } from './pravega-source.js';
export type { PravegaReaderSplit, PravegaEnumeratorState } from './pravega-split.js';
export { readerGroupName } from './names.js';
