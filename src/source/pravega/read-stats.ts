import { EVENT_HEADER_SIZE } from '../../pravega/protocol/constants.js';
import { parseSegmentName } from '../../pravega/protocol/segment-name.js';

/**
 * Events and payload bytes read per stream by the readers of one Pravega source (in this
 * process), so that its lag in bytes can be turned into events: a segment holds each event as an
 * 8-byte header and its payload, and Pravega cannot count events without reading them.
 */
export class ReadStats {
  private readonly byStream = new Map<string, { events: number; bytes: number }>();
  /** segment name → the counts of its stream (segment names are parsed once) */
  private readonly bySegment = new Map<string, { events: number; bytes: number }>();

  /** `events` events (1 by default) of `payloadBytes` bytes in all were read from `segment`. */
  add(segment: string, payloadBytes: number, events = 1): void {
    let s = this.bySegment.get(segment);
    if (s === undefined) {
      const p = parseSegmentName(segment);
      const key = `${p.scope}/${p.stream}`;
      s = this.byStream.get(key) ?? { events: 0, bytes: 0 };
      this.byStream.set(key, s);
      this.bySegment.set(segment, s);
    }
    s.events += events;
    s.bytes += payloadBytes;
  }

  /**
   * Events in `lagBytes` of `stream`: 0 for none, else estimated from the mean size of the events
   * read so far; undefined before any was read.
   */
  eventsIn(stream: string, lagBytes: number): number | undefined {
    if (lagBytes === 0) return 0;
    const s = this.byStream.get(stream);
    if (s === undefined || s.events === 0) return undefined;
    return Math.max(1, Math.round(lagBytes / (s.bytes / s.events + EVENT_HEADER_SIZE)));
  }
}
