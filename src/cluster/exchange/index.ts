export { keyByExchange, type ExchangeOptions } from './key-by-exchange.js';
export { ExchangeSink } from './exchange-sink.js';
export { ExchangeSource } from './exchange-source.js';
export type { ExchangeEdge } from './edge.js';
export { exchangeReaderGroupName, exchangeStreamId } from './names.js';
export { routingKeysForKeyGroups, segmentOfKeyGroup } from './routing.js';
