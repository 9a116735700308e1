/*
 * The Java side of test/integration/client/stream-cut-java.test.ts, run by the JDK's source
 * launcher (`java -cp <Pravega classpath> StreamCutInterop.java ...`) against the real server.
 *
 * Arguments: controllerUri scope stream [text hex]...
 * - asks the real server for the stream's head and tail cuts (StreamManager.fetchStreamInfo) and
 *   prints each as `head|tail <TAB> asText() <TAB> toBytes() hex <TAB> positions in map order`;
 * - reads each (text, bytes hex) pair written by Tributary with StreamCut.from / fromBytes and
 *   prints `read <TAB> positions sorted by segment id <TAB> true|false` (whether both forms gave
 *   equal cuts).
 * Positions are `scope/stream|segmentId=offset,...`, or `UNBOUNDED`. Result lines start with one
 * of those words; anything else on stdout is the client's logging.
 */
import io.pravega.client.ClientConfig;
import io.pravega.client.admin.StreamInfo;
import io.pravega.client.admin.StreamManager;
import io.pravega.client.segment.impl.Segment;
import io.pravega.client.stream.StreamCut;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

public class StreamCutInterop {
  public static void main(String[] args) throws Exception {
    ClientConfig config = ClientConfig.builder().controllerURI(URI.create(args[0])).build();
    try (StreamManager manager = StreamManager.create(config)) {
      StreamInfo info = manager.fetchStreamInfo(args[1], args[2]).get(60, TimeUnit.SECONDS);
      print("head", info.getHeadStreamCut());
      print("tail", info.getTailStreamCut());
    }
    for (int i = 3; i + 1 < args.length; i += 2) {
      StreamCut fromText = StreamCut.from(args[i]);
      StreamCut fromBytes = StreamCut.fromBytes(ByteBuffer.wrap(unhex(args[i + 1])));
      System.out.println("read\t" + positions(fromText, true) + "\t" + fromText.equals(fromBytes));
    }
    System.exit(0); // the client's threads would keep the JVM up
  }

  static void print(String what, StreamCut cut) {
    System.out.println(what + "\t" + cut.asText() + "\t" + hex(cut.toBytes()) + "\t" + positions(cut, false));
  }

  static String positions(StreamCut cut, boolean sorted) {
    if (cut == StreamCut.UNBOUNDED) return "UNBOUNDED";
    List<Map.Entry<Segment, Long>> entries = new ArrayList<>(cut.asImpl().getPositions().entrySet());
    if (sorted) entries.sort((a, b) -> Long.compare(a.getKey().getSegmentId(), b.getKey().getSegmentId()));
    StringBuilder sb = new StringBuilder(cut.asImpl().getStream().getScopedName()).append('|');
    for (int i = 0; i < entries.size(); i++) {
      if (i > 0) sb.append(',');
      sb.append(entries.get(i).getKey().getSegmentId()).append('=').append(entries.get(i).getValue());
    }
    return sb.toString();
  }

  static String hex(ByteBuffer b) {
    StringBuilder sb = new StringBuilder();
    ByteBuffer d = b.duplicate();
    while (d.hasRemaining()) sb.append(String.format("%02x", d.get() & 0xff));
    return sb.toString();
  }

  static byte[] unhex(String s) {
    byte[] out = new byte[s.length() / 2];
    for (int i = 0; i < out.length; i++) out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
    return out;
  }
}
