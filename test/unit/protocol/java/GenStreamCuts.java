/*
 * Regenerates the Java stream-cut fixtures in ../stream-cut-fixtures.ts from the real Pravega
 * 0.13.0 client jars (StreamCut.asText() / toBytes()). Not part of the TypeScript build or the
 * test run.
 *
 * Put it in the package it declares (it subclasses the package's serializer to write version 0)
 * and run it with the class path of the Pravega download (.cache/pravega-server/classpath-*.txt):
 *
 *   CP=$(cat .cache/pravega-server/classpath-*.txt)
 *   mkdir -p /tmp/gencut/io/pravega/client/stream/impl && cp GenStreamCuts.java "$_"
 *   javac -cp "$CP" -d /tmp/gencut/out /tmp/gencut/io/pravega/client/stream/impl/GenStreamCuts.java
 *   java -cp "/tmp/gencut/out:$CP" io.pravega.client.stream.impl.GenStreamCuts
 *
 * Each line is `name <TAB> scope/stream <TAB> positions <TAB> text <TAB> bytes hex <TAB> eq|ne`:
 * positions are `segmentId=offset` in the order the cut's map iterates (the order asText() and
 * toBytes() write them), `eq` when StreamCut.from(text) and StreamCut.fromBytes(bytes) both gave
 * back a cut equal to the original. Then `v0` lines: the same cut written by the serializer's
 * version 0 (offsets as unsigned compact longs), which the 0.13 reader still accepts.
 */
package io.pravega.client.stream.impl;

import io.pravega.client.segment.impl.Segment;
import io.pravega.client.stream.Stream;
import io.pravega.client.stream.StreamCut;
import java.nio.ByteBuffer;
import java.util.*;

public class GenStreamCuts {
  static long id(int epoch, int number) {
    return ((long) epoch << 32) | (number & 0xFFFFFFFFL);
  }

  static Map<Segment, Long> linked(String scope, String stream, long... idOffset) {
    Map<Segment, Long> m = new LinkedHashMap<>();
    for (int i = 0; i < idOffset.length; i += 2) {
      m.put(new Segment(scope, stream, idOffset[i]), idOffset[i + 1]);
    }
    return m;
  }

  static String hex(ByteBuffer b) {
    StringBuilder sb = new StringBuilder();
    ByteBuffer d = b.duplicate();
    while (d.hasRemaining()) sb.append(String.format("%02x", d.get() & 0xff));
    return sb.toString();
  }

  static String positions(StreamCut cut) {
    if (cut == StreamCut.UNBOUNDED) return "";
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<Segment, Long> e : cut.asImpl().getPositions().entrySet()) {
      if (sb.length() > 0) sb.append(',');
      sb.append(e.getKey().getSegmentId()).append('=').append(e.getValue());
    }
    return sb.toString();
  }

  static void out(String name, StreamCut cut) {
    String text = cut.asText();
    ByteBuffer bytes = cut.toBytes();
    boolean eq = StreamCut.from(text).equals(cut) && StreamCut.fromBytes(bytes.duplicate()).equals(cut);
    String stream = cut == StreamCut.UNBOUNDED ? "" : cut.asImpl().getStream().getScopedName();
    System.out.println(name + "\t" + stream + "\t" + positions(cut) + "\t" + text + "\t" + hex(bytes) + "\t" + (eq ? "eq" : "ne"));
  }

  static void outV0(String name, StreamCutImpl cut) throws Exception {
    StreamCutImpl.StreamCutSerializer v0 = new StreamCutImpl.StreamCutSerializer() {
      @Override
      protected byte getWriteVersion() {
        return 0;
      }
    };
    ByteBuffer bytes = ByteBuffer.wrap(v0.serialize(cut).getCopy());
    boolean eq = StreamCut.fromBytes(bytes.duplicate()).equals(cut);
    System.out.println("v0\t" + name + "\t" + cut.getStream().getScopedName() + "\t" + positions(cut) + "\t" + hex(bytes) + "\t" + (eq ? "eq" : "ne"));
  }

  static StreamCutImpl cut(String scope, String stream, Map<Segment, Long> positions) {
    return new StreamCutImpl(Stream.of(scope, stream), positions);
  }

  public static void main(String[] args) throws Exception {
    out("unbounded", StreamCut.UNBOUNDED);

    StreamCutImpl one = cut("sc", "st", linked("sc", "st", 0L, 0L));
    out("oneSegmentAtZero", one);

    StreamCutImpl epochs = cut("sc", "st", linked("sc", "st",
        id(1, 3), 100L,
        id(1, 4), (1L << 32) + 5L,
        id(2, 7), 0L,
        id(12, 1), 123456789012L));
    out("epochsAndLargeOffsets", epochs);

    StreamCutImpl names = cut("my-scope.v1", "orders.2026-12", linked("my-scope.v1", "orders.2026-12",
        id(0, 0), 42L,
        id(0, 1), 0L,
        id(3, 2), 1L << 40));
    out("dotsAndDashes", names);

    // every width of the compact encodings: segment ids (unsigned compact long) and offsets
    // (signed compact long) at each boundary, and the largest values each can hold
    StreamCutImpl widths = cut("sc", "widths", linked("sc", "widths",
        63L, 31L,
        64L, 32L,
        16383L, 8191L,
        16384L, 8192L,
        0x3FFF_FFFFL, 0x1FFF_FFFFL,
        0x4000_0000L, 0x2000_0000L,
        id(0x3FFF_FFFF, 0x7FFF_FFFF), 0x1FFF_FFFF_FFFF_FFFEL));
    out("compactWidths", widths);

    // more than 127 entries: a two-byte compact count
    long[] many = new long[2 * 200];
    for (int i = 0; i < 200; i++) {
      many[2 * i] = id(i % 3, i);
      many[2 * i + 1] = (long) i * 1_000_003L;
    }
    out("twoHundredSegments", cut("big", "many", linked("big", "many", many)));

    // the order a plain HashMap gives (what Java's own reader groups and batch client produce)
    Map<Segment, Long> hashed = new HashMap<>();
    for (int i = 0; i < 9; i++) hashed.put(new Segment("sc", "hashed", id(i % 2, 10 + i)), (long) i << 33);
    out("hashMapOrder", cut("sc", "hashed", hashed));

    outV0("epochsAndLargeOffsets", epochs);
    outV0("dotsAndDashes", names);
  }
}
