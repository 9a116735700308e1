import io.pravega.client.ClientConfig;
import io.pravega.client.EventStreamClientFactory;
import io.pravega.client.admin.StreamManager;
import io.pravega.client.stream.EventStreamWriter;
import io.pravega.client.stream.EventWriterConfig;
import io.pravega.client.stream.ScalingPolicy;
import io.pravega.client.stream.StreamConfiguration;
import io.pravega.client.stream.impl.ByteArraySerializer;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

/**
 * The Java client's writer under the load bench/writer.ts puts on ours: one writer, one segment,
 * 16 routing keys, payloads of one size, flat out for some seconds; every 97th event's ack
 * latency sampled. Prints one line in the same shape as the TypeScript benchmark.
 *
 * Arguments: controllerUri scope stream size seconds
 */
public final class JavaWriterBench {
  public static void main(String[] args) throws Exception {
    URI controller = URI.create(args[0]);
    String scope = args[1];
    String stream = args[2];
    int size = Integer.parseInt(args[3]);
    int seconds = Integer.parseInt(args[4]);

    ClientConfig config = ClientConfig.builder().controllerURI(controller).build();
    try (StreamManager manager = StreamManager.create(config)) {
      manager.createScope(scope);
      manager.createStream(
          scope,
          stream,
          StreamConfiguration.builder().scalingPolicy(ScalingPolicy.fixed(1)).build());
    }
    Random random = new Random(1);
    byte[][] payloads = new byte[64][];
    for (int i = 0; i < payloads.length; i++) {
      payloads[i] = new byte[size];
      random.nextBytes(payloads[i]);
    }
    String[] keys = new String[16];
    for (int i = 0; i < keys.length; i++) keys[i] = "key-" + i;

    try (EventStreamClientFactory factory = EventStreamClientFactory.withScope(scope, config);
        EventStreamWriter<byte[]> writer =
            factory.createEventWriter(
                stream, new ByteArraySerializer(), EventWriterConfig.builder().build())) {
      for (int i = 0; i < 2000; i++) writer.writeEvent(keys[i % 16], payloads[i % 64]);
      writer.flush();

      List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
      long started = System.nanoTime();
      long until = started + seconds * 1_000_000_000L;
      long count = 0;
      while (System.nanoTime() < until) {
        for (int i = 0; i < 1000; i++) {
          CompletableFuture<Void> ack = writer.writeEvent(keys[(int) (count % 16)], payloads[(int) (count % 64)]);
          if (count % 97 == 0) {
            long t0 = System.nanoTime();
            ack.thenRun(() -> latencies.add(System.nanoTime() - t0));
          }
          count++;
        }
      }
      writer.flush();
      double elapsed = (System.nanoTime() - started) / 1e9;
      List<Long> sorted;
      synchronized (latencies) {
        sorted = new ArrayList<>(latencies);
      }
      Collections.sort(sorted);
      double eps = count / elapsed;
      System.out.printf(
          "%6d B events, flat out: %,.0f events/s, %,.1f MB/s, ack latency p50 %,.1f ms, p99 %,.1f ms (%,d events in %,.1f s)%n",
          size, eps, eps * size / 1e6, percentile(sorted, 50), percentile(sorted, 99), count, elapsed);
    }
  }

  private static double percentile(List<Long> sortedNanos, int p) {
    if (sortedNanos.isEmpty()) return Double.NaN;
    int idx = (int) Math.min(sortedNanos.size() - 1, Math.max(0, Math.ceil(p / 100.0 * sortedNanos.size()) - 1));
    return sortedNanos.get(idx) / 1e6;
  }
}
