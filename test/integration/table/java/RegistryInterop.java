import io.pravega.client.ClientConfig;
import io.pravega.client.EventStreamClientFactory;
import io.pravega.client.admin.ReaderGroupManager;
import io.pravega.client.stream.EventRead;
import io.pravega.client.stream.EventStreamReader;
import io.pravega.client.stream.EventStreamWriter;
import io.pravega.client.stream.EventWriterConfig;
import io.pravega.client.stream.ReaderConfig;
import io.pravega.client.stream.ReaderGroupConfig;
import io.pravega.client.stream.Serializer;
import io.pravega.client.stream.Stream;
import io.pravega.schemaregistry.client.SchemaRegistryClientConfig;
import io.pravega.schemaregistry.serializer.avro.schemas.AvroSchema;
import io.pravega.schemaregistry.serializer.shared.impl.SerializerConfig;
import io.pravega.schemaregistry.serializers.SerializerFactory;
import java.net.URI;
import java.util.UUID;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;

/**
 * The Java side of the catalog's interoperability test, with the schema registry's own
 * serializers (io.pravega:schemaregistry-serializers 0.2.0) and the Pravega Java client they come
 * with. Arguments: registryUri controllerUri scope stream mode count.
 *   read  — reads `count` events of scope/stream with the registry's generic Avro deserializer
 *           (which parses the encoding header and fetches the writer schema by encoding id) and
 *           prints each as `read\t<record as JSON>`;
 *   write — writes `count` GenericRecords (id = i, name = "java-<i>", amount = i * 1.5) with the
 *           registry's Avro serializer using the group's latest schema, then prints `wrote\t<n>`.
 */
public class RegistryInterop {
    public static void main(String[] args) throws Exception {
        URI registry = URI.create(args[0]);
        URI controller = URI.create(args[1]);
        String scope = args[2];
        String stream = args[3];
        String mode = args[4];
        int count = Integer.parseInt(args[5]);
        SerializerConfig config = SerializerConfig.builder()
                .registryConfig(SchemaRegistryClientConfig.builder().schemaRegistryUri(registry).build())
                .namespace(scope)
                .groupId(stream)
                .build();
        ClientConfig clientConfig = ClientConfig.builder().controllerURI(controller).build();
        if (mode.equals("read")) {
            Serializer<Object> deserializer = SerializerFactory.avroGenericDeserializer(config, null);
            String rg = "interop" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
            try (ReaderGroupManager rgm = ReaderGroupManager.withScope(scope, clientConfig)) {
                rgm.createReaderGroup(rg, ReaderGroupConfig.builder().stream(Stream.of(scope, stream)).build());
                try (EventStreamClientFactory factory = EventStreamClientFactory.withScope(scope, clientConfig);
                     EventStreamReader<Object> reader = factory.createReader("r", rg, deserializer, ReaderConfig.builder().build())) {
                    int read = 0;
                    long deadline = System.currentTimeMillis() + 120_000;
                    while (read < count && System.currentTimeMillis() < deadline) {
                        EventRead<Object> event = reader.readNextEvent(2_000);
                        if (event.getEvent() != null) {
                            System.out.println("read\t" + event.getEvent());
                            read++;
                        }
                    }
                }
                rgm.deleteReaderGroup(rg);
            }
        } else {
            io.pravega.schemaregistry.client.SchemaRegistryClient client =
                    io.pravega.schemaregistry.client.SchemaRegistryClientFactory.withNamespace(scope,
                            SchemaRegistryClientConfig.builder().schemaRegistryUri(registry).build());
            String text = new String(client.getLatestSchemaVersion(stream, null).getSchemaInfo().getSchemaData().array(), "UTF-8");
            Schema schema = new Schema.Parser().parse(text);
            Serializer<GenericRecord> serializer = SerializerFactory.avroSerializer(config, AvroSchema.ofRecord(schema));
            try (EventStreamClientFactory factory = EventStreamClientFactory.withScope(scope, clientConfig);
                 EventStreamWriter<GenericRecord> writer = factory.createEventWriter(stream, serializer, EventWriterConfig.builder().build())) {
                for (int i = 0; i < count; i++) {
                    GenericRecord r = new GenericData.Record(schema);
                    r.put("id", i);
                    r.put("name", "java-" + i);
                    r.put("amount", i * 1.5);
                    writer.writeEvent(r);
                }
                writer.flush();
            }
            System.out.println("wrote\t" + count);
        }
    }
}
