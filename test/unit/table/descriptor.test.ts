import { describe, expect, it } from 'vitest';
import { eventPointerBytes } from '../../../src/source/pravega/event-pointer.js';
import { parseDataType, Schema, TableDescriptor } from '../../../src/table/index.js';

describe('TableDescriptor', () => {
  it('builds the table of the FLIP-129 example', () => {
    const t = TableDescriptor.forConnector('pravega')
      .schema(
        Schema.newBuilder()
          .column('a', 'INT')
          .column('ts', 'TIMESTAMP(3)')
          .columnByExpression('b', 'a + 1')
          .columnByMetadata('ptr', 'BYTES', 'event_pointer', true)
          .watermark('ts', "ts - INTERVAL '5' SECOND")
          .build(),
      )
      .option('scope', 'x')
      .option('scan.reader-group.max-outstanding-checkpoint-request', 2)
      .format('json', { 'ignore-parse-errors': true })
      .comment('orders')
      .build();
    expect(t).toEqual({
      schema: {
        columns: [
          { kind: 'physical', name: 'a', type: parseDataType('INT') },
          { kind: 'physical', name: 'ts', type: parseDataType('TIMESTAMP(3)') },
          { kind: 'computed', name: 'b', expression: 'a + 1' },
          {
            kind: 'metadata',
            name: 'ptr',
            type: parseDataType('BYTES'),
            key: 'event_pointer',
            virtual: true,
          },
        ],
        watermark: { column: 'ts', expression: "ts - INTERVAL '5' SECOND" },
      },
      options: {
        connector: 'pravega',
        scope: 'x',
        'scan.reader-group.max-outstanding-checkpoint-request': '2',
        format: 'json',
        'json.ignore-parse-errors': 'true',
      },
      comment: 'orders',
    });
  });

  it('metadata key defaults to the column name; primary key', () => {
    const s = Schema.newBuilder()
      .column('id', 'BIGINT NOT NULL')
      .columnByMetadata('event_pointer', 'BYTES')
      .primaryKey('id')
      .build();
    expect(s.columns[1]).toMatchObject({ key: 'event_pointer', virtual: false });
    expect(s.primaryKey).toEqual(['id']);
  });

  it.each([
    [
      'a duplicate column',
      () => Schema.newBuilder().column('a', 'INT').column('a', 'INT'),
      "column 'a' is declared twice",
    ],
    [
      'a bad type',
      () => Schema.newBuilder().column('a', 'INTEGR'),
      "Schema.column('a'): data type 'INTEGR'",
    ],
    [
      'a watermark on an unknown column',
      () => Schema.newBuilder().column('a', 'INT').watermark('ts', 'ts').build(),
      "column 'ts' is not declared",
    ],
    [
      'a watermark on a non-timestamp',
      () => Schema.newBuilder().column('a', 'INT').watermark('a', 'a').build(),
      "column 'a' must be TIMESTAMP(3)",
    ],
    [
      'a primary key on an unknown column',
      () => Schema.newBuilder().column('a', 'INT').primaryKey('b').build(),
      "column 'b' is not declared",
    ],
    ['no schema', () => TableDescriptor.forConnector('pravega').build(), 'a schema is required'],
  ])('refuses %s', (_what, build, message) => {
    expect(build).toThrow(message);
  });
});

describe("event_pointer bytes (Java's EventPointerImpl.toBytes())", () => {
  it('is the versioned serializer envelope around segment, offset and length', () => {
    // format 0, version 0, 1 revision: id 0, length 11; writeUTF("sc/st/0"); compact long 0;
    // compact int 5 + 8 (the event's header)
    expect(eventPointerBytes('sc/st/0', 0, 5)).toEqual(
      Buffer.from([0, 0, 1, 0, 0, 0, 0, 11, 0, 7, ...Buffer.from('sc/st/0'), 0x00, 13]),
    );
  });

  it('writes larger offsets and lengths in the compact forms', () => {
    const b = eventPointerBytes('s/t/1.#epoch.2', 1000, 200);
    const name = Buffer.from('s/t/1.#epoch.2');
    // 1000 → 2-byte compact long 0x43e8; 208 → 2-byte compact int 0x80d0
    expect(b.subarray(8)).toEqual(Buffer.from([0, name.length, ...name, 0x43, 0xe8, 0x80, 0xd0]));
    expect(b.readInt32BE(4)).toBe(b.length - 8);
  });
});
