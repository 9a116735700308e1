package io.tributary.bench;

import io.pravega.client.ClientConfig;
import io.pravega.client.admin.StreamManager;
import io.pravega.client.stream.Stream;
import io.pravega.client.stream.StreamCut;
import io.pravega.client.stream.impl.ByteArraySerializer;
import io.pravega.connectors.flink.FlinkPravegaReader;
import io.pravega.connectors.flink.FlinkPravegaWriter;
import io.pravega.connectors.flink.PravegaConfig;
import io.pravega.connectors.flink.PravegaWriterMode;
import io.pravega.connectors.flink.serialization.PravegaDeserializationSchema;
import io.pravega.connectors.flink.serialization.PravegaSerializationSchema;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.CheckpointingMode;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The job of bench/job.ts on Flink: Pravega source (parallelism 2) → map → Pravega sink
 * (parallelism 2), 1 s checkpoints, bounded by the input's tail at start, on a local
 * mini-cluster. Arguments: controller URI, scope (streams "in" and "out" exist, "in" is
 * written), guarantee (exactly-once | at-least-once). Prints one line of JSON: the job's
 * seconds, this JVM's CPU seconds and peak RSS.
 */
public final class FlinkJobBench {
  private FlinkJobBench() {}

  public static void main(String[] args) throws Exception {
    URI controller = URI.create(args[0]);
    String scope = args[1];
    boolean exactlyOnce = "exactly-once".equals(args[2]);

    StreamCut end;
    try (StreamManager streams =
        StreamManager.create(ClientConfig.builder().controllerURI(controller).build())) {
      end = streams.getStreamInfo(scope, "in").getTailStreamCut();
    }
    PravegaConfig pravega =
        PravegaConfig.fromDefaults().withControllerURI(controller).withDefaultScope(scope);

    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.createLocalEnvironment(2, new Configuration());
    env.enableCheckpointing(1000, CheckpointingMode.EXACTLY_ONCE);

    FlinkPravegaReader<byte[]> source =
        FlinkPravegaReader.<byte[]>builder()
            .withPravegaConfig(pravega)
            .forStream(Stream.of(scope, "in"), StreamCut.UNBOUNDED, end)
            .withDeserializationSchema(
                new PravegaDeserializationSchema<>(byte[].class, new ByteArraySerializer()))
            .build();
    FlinkPravegaWriter<byte[]> sink =
        FlinkPravegaWriter.<byte[]>builder()
            .withPravegaConfig(pravega)
            .forStream(Stream.of(scope, "out"))
            .withSerializationSchema(new PravegaSerializationSchema<>(new ByteArraySerializer()))
            .withEventRouter(event -> "k" + event[0])
            .withWriterMode(exactlyOnce ? PravegaWriterMode.EXACTLY_ONCE : PravegaWriterMode.ATLEAST_ONCE)
            .build();
    env.addSource(source).name("in").setParallelism(2)
        .map(event -> event).name("map").setParallelism(2)
        .addSink(sink).name("out").setParallelism(2);

    long started = System.nanoTime();
    JobExecutionResult result = env.execute("flink-jobbench-" + args[2]);
    double seconds = (System.nanoTime() - started) / 1e9;
    System.out.println(
        "{\"seconds\":" + seconds
            + ",\"cpuSeconds\":" + cpuSeconds()
            + ",\"peakRssBytes\":" + peakRss()
            + ",\"netRuntimeMs\":" + result.getNetRuntime() + "}");
    System.exit(0);
  }

  /** utime + stime of this process (Linux /proc; clock ticks of 100 Hz). */
  private static double cpuSeconds() throws Exception {
    String stat = new String(Files.readAllBytes(Paths.get("/proc/self/stat")));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
  }

  private static long peakRss() throws Exception {
    List<String> lines = Files.readAllLines(Paths.get("/proc/self/status"));
    for (String line : lines) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    return -1;
  }
}
