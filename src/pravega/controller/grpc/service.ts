import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Loads the controller's service definition once; int64 as decimal strings, enums as names. */

const PROTO_PATH = fileURLToPath(new URL('./controller.proto', import.meta.url));

let cached: grpc.ServiceClientConstructor | undefined;

export function controllerServiceClient(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const definition = protoLoader.loadSync(PROTO_PATH, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    io: { pravega: { controller: { stream: { api: { grpc: { v1: Record<string, unknown> } } } } } };
  };
  cached = loaded.io.pravega.controller.stream.api.grpc.v1
    .ControllerService as grpc.ServiceClientConstructor;
  return cached;
}
