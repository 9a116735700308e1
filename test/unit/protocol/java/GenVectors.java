/*
 * Regenerates the Java vectors in ../samples.ts and ../routing-hash.test.ts from the real
 * Pravega 0.13.0 jars. Not part of the TypeScript build or the test run.
 *
 * Put it in the package it declares (it uses package-private constructors) and run it with the
 * jars of pravega-shared-protocol, pravega-common, pravega-shared-* 0.13.0, netty-buffer,
 * netty-common, netty-codec, netty-transport, guava, failureaccess and slf4j-api on the class path:
 *
 *   mkdir -p /tmp/gen/io/pravega/shared/protocol/netty && cp GenVectors.java "$_"
 *   javac -cp "$CP" -d /tmp/gen/out /tmp/gen/io/pravega/shared/protocol/netty/GenVectors.java
 *   java -cp "/tmp/gen/out:$CP" io.pravega.shared.protocol.netty.GenVectors
 *
 * Each line is `name <TAB> frame hex <TAB> eq|ne` (eq: the Java decoder read the frame back to an
 * equal command), then `hash <TAB> key <TAB> asLong <TAB> hashToRange` lines.
 */
package io.pravega.shared.protocol.netty;

import io.netty.buffer.*;
import java.util.*;
import static io.pravega.shared.protocol.netty.WireCommands.*;

public class GenVectors {
  static final UUID W = UUID.fromString("00112233-4455-6677-8899-aabbccddeeff");
  static final UUID A = UUID.fromString("f0e1d2c3-b4a5-9687-7869-5a4b3c2d1e0f");
  static final String SEG = "sc/st/0.#epoch.0";
  static final String TOK = "tok";
  static final String ST = "trace\u0000\u00e9\u20ac\uD83D\uDE00";
  static final long R = 0x0102030405060708L;

  static ByteBuf b(String s) { return Unpooled.wrappedBuffer(s.getBytes(java.nio.charset.StandardCharsets.UTF_8)); }

  static void out(String name, WireCommand c) throws Exception {
    ByteBuf buf = Unpooled.buffer();
    ByteBufOutputStream o = new ByteBufOutputStream(buf);
    o.writeInt(c.getType().getCode());
    o.writeInt(0);
    c.writeFields(o);
    o.flush();
    buf.setInt(4, buf.writerIndex() - 8);
    String hex = ByteBufUtil.hexDump(buf);
    WireCommand back = CommandDecoder.parseCommand(buf.duplicate());
    System.out.println(name + "\t" + hex + "\t" + (back.equals(c) ? "eq" : "ne"));
  }

  public static void main(String[] args) throws Exception {
    out("hello", new Hello(16, 5));
    out("keepAlive", new KeepAlive());
    out("wrongHost", new WrongHost(R, SEG, "", ST));
    out("segmentIsSealed", new SegmentIsSealed(R, SEG, ST, 42L));
    out("segmentAlreadyExists", new SegmentAlreadyExists(R, SEG, ST));
    out("noSuchSegment", new NoSuchSegment(R, SEG, ST, -1L));
    out("invalidEventNumber", new InvalidEventNumber(W, R, ST, 7L));
    out("segmentIsTruncated", new SegmentIsTruncated(R, SEG, 100L, ST, 50L));
    out("operationUnsupported", new OperationUnsupported(R, "op", ST));
    out("authTokenCheckFailed", new AuthTokenCheckFailed(R, ST, AuthTokenCheckFailed.ErrorCode.TOKEN_EXPIRED));
    out("errorMessage", new ErrorMessage(R, SEG, "msg", ErrorMessage.ErrorCode.ILLEGAL_ARGUMENT_EXCEPTION));
    out("tableSegmentNotEmpty", new TableSegmentNotEmpty(R, SEG, ST));
    out("tableKeyDoesNotExist", new TableKeyDoesNotExist(R, SEG, ST));
    out("tableKeyBadVersion", new TableKeyBadVersion(R, SEG, ST));
    out("setupAppend", new SetupAppend(R, W, SEG, TOK));
    out("appendSetup", new AppendSetup(R, SEG, A, Long.MIN_VALUE));
    out("appendBlockEnd", new AppendBlockEnd(W, 10, b("\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0002hi"), 1, 1L, 2L));
    out("conditionalAppend", new ConditionalAppend(W, 5L, 1000L, new Event(b("payload")), R));
    out("conditionalBlockEnd", new ConditionalBlockEnd(W, 5L, 1000L, b("\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0001x"), R));
    out("dataAppended", new DataAppended(R, W, 9L, Long.MIN_VALUE, 4096L));
    out("conditionalCheckFailed", new ConditionalCheckFailed(W, 5L, R));
    out("partialEvent", new PartialEvent(b("part")));
    out("padding", new Padding(11));
    out("readSegment", new ReadSegment(SEG, 1L << 40, 1024, TOK, R));
    out("segmentRead", new SegmentRead(SEG, 1L << 40, true, false, b("data!"), R));
    out("getStreamSegmentInfo", new GetStreamSegmentInfo(R, SEG, TOK));
    out("streamSegmentInfo", new StreamSegmentInfo(R, SEG, true, false, true, 1700000000000L, 123456L, 100L));
    out("createSegment", new CreateSegment(R, SEG, CreateSegment.IN_EVENTS_PER_SEC, 1000, TOK, 1L << 30));
    out("segmentCreated", new SegmentCreated(R, SEG));
    out("createTransientSegment", new CreateTransientSegment(R, W, SEG, TOK));
    out("sealSegment", new SealSegment(R, SEG, TOK));
    out("segmentSealed", new SegmentSealed(R, SEG));
    out("truncateSegment", new TruncateSegment(R, SEG, 77L, TOK));
    out("segmentTruncated", new SegmentTruncated(R, SEG));
    out("deleteSegment", new DeleteSegment(R, SEG, TOK));
    out("segmentDeleted", new SegmentDeleted(R, SEG));
    out("updateSegmentPolicy", new UpdateSegmentPolicy(R, SEG, CreateSegment.IN_KBYTES_PER_SEC, 500, TOK));
    out("segmentPolicyUpdated", new SegmentPolicyUpdated(R, SEG));
    out("mergeSegments", new MergeSegments(R, "t", "s", TOK, Arrays.asList(
        new ConditionalAttributeUpdate(A, ConditionalAttributeUpdate.REPLACE_IF_EQUALS, 10L, Long.MIN_VALUE))));
    out("segmentsMerged", new SegmentsMerged(R, "t", "s", 999L));
    out("mergeSegmentsBatch", new MergeSegmentsBatch(R, "t", Arrays.asList("s1", "s2"), TOK));
    out("segmentsBatchMerged", new SegmentsBatchMerged(R, "t", Arrays.asList("s1", "s2"), Arrays.asList(10L, 20L)));
    out("getSegmentAttribute", new GetSegmentAttribute(R, SEG, A, TOK));
    out("segmentAttribute", new SegmentAttribute(R, Long.MIN_VALUE));
    out("updateSegmentAttribute", new UpdateSegmentAttribute(R, SEG, A, 5L, Long.MIN_VALUE, TOK));
    out("segmentAttributeUpdated", new SegmentAttributeUpdated(R, true));
    out("createTableSegment", new CreateTableSegment(R, SEG, false, 16, TOK, 4096L));
    out("deleteTableSegment", new DeleteTableSegment(R, SEG, true, TOK));
    out("getTableSegmentInfo", new GetTableSegmentInfo(R, SEG, TOK));
    out("tableSegmentInfo", new TableSegmentInfo(R, SEG, 1L, 2L, 3L, 16));
    List<Map.Entry<TableKey, TableValue>> entries = Arrays.asList(
        new AbstractMap.SimpleImmutableEntry<>(new TableKey(b("k1"), Long.MIN_VALUE), new TableValue(b("v1"))),
        new AbstractMap.SimpleImmutableEntry<>(new TableKey(b("k2"), -1L), new TableValue(Unpooled.EMPTY_BUFFER)),
        new AbstractMap.SimpleImmutableEntry<>(TableKey.EMPTY, new TableValue(b("v3"))));
    out("updateTableEntries", new UpdateTableEntries(R, SEG, TOK, new TableEntries(entries), -1L));
    out("tableEntriesUpdated", new TableEntriesUpdated(R, Arrays.asList(1L, 2L, Long.MAX_VALUE)));
    List<TableKey> keys = Arrays.asList(new TableKey(b("k1"), 3L), TableKey.EMPTY);
    out("removeTableKeys", new RemoveTableKeys(R, SEG, TOK, keys, 55L));
    out("tableKeysRemoved", new TableKeysRemoved(R, SEG));
    out("readTable", new ReadTable(R, SEG, TOK, keys));
    out("tableRead", new TableRead(R, SEG, new TableEntries(entries)));
    out("readTableKeys", new ReadTableKeys(R, SEG, TOK, 10, new TableIteratorArgs(b("ct"), Unpooled.EMPTY_BUFFER, b("a"), b("z"))));
    out("tableKeysRead", new TableKeysRead(R, SEG, keys, b("next")));
    out("readTableEntries", new ReadTableEntries(R, SEG, TOK, 20, new TableIteratorArgs(Unpooled.EMPTY_BUFFER, Unpooled.EMPTY_BUFFER, Unpooled.EMPTY_BUFFER, Unpooled.EMPTY_BUFFER)));
    out("tableEntriesRead", new TableEntriesRead(R, SEG, new TableEntries(entries), b("next")));
    out("readTableEntriesDelta", new ReadTableEntriesDelta(R, SEG, TOK, 12L, 30));
    out("tableEntriesDeltaRead", new TableEntriesDeltaRead(R, SEG, new TableEntries(entries), true, false, 99L));
    out("flushToStorage", new FlushToStorage(3, TOK, R));
    out("flushedToStorage", new StorageFlushed(R));
    out("listStorageChunks", new ListStorageChunks(SEG, TOK, R));
    out("storageChunksListed", new StorageChunksListed(R, Arrays.asList(new ChunkInfo(1L, 2L, 3L, "chunk", true))));

    io.pravega.common.hash.HashHelper h = io.pravega.common.hash.HashHelper.seededWith("EventRouter");
    String[] ks = {"", "a", "key", "routingKey", "hello", "\u043a\u043b\u044e\u0447", "\uD83D\uDE00",
        "12345678", "123456789", "0123456789abcdef", "0123456789abcdefg", "a longer routing key with 30+ chars",
        "\uD800", "customer-000042", "scope/stream/\u00e9\u00e8\u00ea/\u4e2d\u6587"};
    for (String k : ks) {
      System.out.println("hash\t" + toJs(k) + "\t" + h.hash(k) + "\t" + h.hashToRange(k));
    }
  }

  static String toJs(String s) {
    StringBuilder sb = new StringBuilder();
    for (char c : s.toCharArray()) {
      if (c >= 0x20 && c < 0x7f) sb.append(c); else sb.append(String.format("\\u%04x", (int) c));
    }
    return sb.toString();
  }
}
