export type { Sink, SinkWriter, SinkWriterContext, TransactionReport } from './sink.js';
export { FileSink, type FileSinkOptions } from './file/file-sink.js';
export type { FileTransaction } from './file/file-sink-writer.js';
