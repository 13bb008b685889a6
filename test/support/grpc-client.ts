import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { modelServiceProtoPath } from '../../src/grpc/model-service-definition.ts';

// What a client of the shipped proto would use: defaults on, so an unset field reads as its zero value.
const clientOptions: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

// Tests read decoded messages freely; the gateway itself never uses `any`.
export type Message = any;

export interface Outcome {
  response: Message | null;
  error: grpc.ServiceError | null;
}

export interface StreamOutcome {
  messages: Message[];
  error: grpc.ServiceError | null;
}

/** The service from the proto file in the repository, as an integration team would compile it. */
export function shippedDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(modelServiceProtoPath, clientOptions);
}

export function modelServiceClient(definition: protoLoader.PackageDefinition, address: string, options: grpc.ClientOptions = {}): grpc.Client & Record<string, Function> {
  const Client = grpc.makeClientConstructor(definition['gateway.ModelService'] as grpc.ServiceDefinition, 'ModelService');
  return new Client(address, grpc.credentials.createInsecure(), options) as grpc.Client & Record<string, Function>;
}

export function metadataWith(key: string | null): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (key !== null) metadata.set('authorization', `Bearer ${key}`);
  return metadata;
}

/** A unary call's answer or error, never a throw. */
export function unary(client: grpc.Client & Record<string, Function>, method: string, request: Message, key: string | null, options: grpc.CallOptions = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    (client[method] as Function).call(client, request, metadataWith(key), options, (error: grpc.ServiceError | null, response: Message) => resolve({ response: error === null ? response : null, error }));
  });
}

/** A server stream's messages until it ends, or until `until` says stop (then the call is cancelled); `messages` fills as they arrive. */
export function serverStream(client: grpc.Client & Record<string, Function>, method: string, request: Message, key: string | null, options: grpc.CallOptions = {}, until?: (messages: Message[], call: grpc.ClientReadableStream<Message>) => boolean): Promise<StreamOutcome> & { call: grpc.ClientReadableStream<Message>; messages: Message[] } {
  const call = (client[method] as Function).call(client, request, metadataWith(key), options) as grpc.ClientReadableStream<Message>;
  const messages: Message[] = [];
  const done = new Promise<StreamOutcome>((resolve) => {
    call.on('data', (message: Message) => {
      messages.push(message);
      if (until?.(messages, call) === true) {
        call.cancel();
        resolve({ messages, error: null });
      }
    });
    call.on('error', (error: grpc.ServiceError) => resolve({ messages, error }));
    call.on('end', () => resolve({ messages, error: null }));
  });
  return Object.assign(done, { call, messages });
}

/** The reflection service's own proto (v1), shipped inside @grpc/reflection. */
function reflectionProtoPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc/reflection/v1/reflection.proto');
}

/**
 * What grpcurl does without the proto file: asks the reflection service
 * which services there are, then for the files that define one (with the
 * files they import), and builds a client from those descriptors alone.
 */
export async function definitionByReflection(address: string): Promise<{ services: string[]; files: Buffer[]; definition: protoLoader.PackageDefinition }> {
  const reflection = protoLoader.loadSync(reflectionProtoPath(), { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const Client = grpc.makeClientConstructor(reflection['grpc.reflection.v1.ServerReflection'] as grpc.ServiceDefinition, 'ServerReflection');
  const client = new Client(address, grpc.credentials.createInsecure()) as grpc.Client & Record<string, Function>;
  try {
    const ask = (request: Message) =>
      new Promise<Message>((resolve, reject) => {
        const call = (client['ServerReflectionInfo'] as Function).call(client) as grpc.ClientDuplexStream<Message, Message>;
        call.on('data', (answer: Message) => {
          resolve(answer);
          call.end();
        });
        call.on('error', reject);
        call.write(request);
      });
    const listed = await ask({ list_services: '' });
    const services = (listed.list_services_response.service as Array<{ name: string }>).map((service) => service.name);
    const files = await ask({ file_containing_symbol: 'gateway.ModelService' });
    const descriptors = files.file_descriptor_response.file_descriptor_proto as Buffer[];
    return { services, files: descriptors, definition: protoLoader.loadFileDescriptorSetFromBuffer(fileDescriptorSet(descriptors), clientOptions) };
  } finally {
    client.close();
  }
}

/** FileDescriptorSet { repeated FileDescriptorProto file = 1; } from the encoded files. */
function fileDescriptorSet(files: Buffer[]): Buffer {
  return Buffer.concat(files.flatMap((file) => [Buffer.from([0x0a]), varint(file.length), file]));
}

function varint(value: number): Buffer {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  out.push(rest);
  return Buffer.from(out);
}

/** The gRPC address of a gateway listening at an http:// URL (same host and port). */
export function grpcAddressOf(url: string): string {
  return new URL(url).host;
}
