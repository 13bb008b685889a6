// The pure parts of the gRPC front door: status mapping, rich status details,
// Struct conversion, the descriptors reflection serves, and port sharing.
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { status as GrpcCode } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { RestError } from '../../src/http/internal/internal-rest.ts';
import { CallEnded, grpcCodeOf, toGrpcError } from '../../src/grpc/grpc-status.ts';
import { encodeStatusDetails, retryInfoType } from '../../src/grpc/status-details.ts';
import { fromProtoStruct, StructTooDeep, toProtoStruct } from '../../src/grpc/struct-value.ts';
import { canonicalDescriptors, mapEntryName } from '../../src/grpc/reflection-descriptors.ts';
import { loadModelService } from '../../src/grpc/model-service-definition.ts';
import { http2Preface, shareHttpPort } from '../../src/grpc/shared-port.ts';

describe('gRPC status from REST failures', () => {
  it('maps each REST status to the gRPC code a client expects', () => {
    const cases: Array<[number, GrpcCode]> = [
      [400, GrpcCode.INVALID_ARGUMENT], [413, GrpcCode.INVALID_ARGUMENT], [422, GrpcCode.INVALID_ARGUMENT], [401, GrpcCode.UNAUTHENTICATED], [403, GrpcCode.PERMISSION_DENIED],
      [404, GrpcCode.NOT_FOUND], [409, GrpcCode.FAILED_PRECONDITION], [429, GrpcCode.RESOURCE_EXHAUSTED], [499, GrpcCode.CANCELLED], [500, GrpcCode.INTERNAL],
      [502, GrpcCode.UNAVAILABLE], [503, GrpcCode.UNAVAILABLE], [504, GrpcCode.DEADLINE_EXCEEDED], [408, GrpcCode.DEADLINE_EXCEEDED],
    ];
    expect(cases.map(([status]) => grpcCodeOf(status))).toEqual(cases.map(([, code]) => code));
  });

  it('carries REST\'s message and code, retry-after and RetryInfo; never an internal detail', () => {
    const limited = toGrpcError(new RestError(429, { error: { message: 'Rate limit reached for requests. Retry after 7 s.', code: 'rate_limit_exceeded' } }, { 'retry-after': '7' }));
    expect(limited).toMatchObject({ code: GrpcCode.RESOURCE_EXHAUSTED, details: 'Rate limit reached for requests. Retry after 7 s.' });
    expect(limited.metadata?.get('sy-error-code')).toEqual(['rate_limit_exceeded']);
    expect(limited.metadata?.get('retry-after')).toEqual(['7']);
    const internal = toGrpcError(new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2'));
    expect(internal.code).toBe(GrpcCode.INTERNAL);
    expect(internal.details).not.toMatch(/hunter2|10\.0\.0\.7/);
    expect(toGrpcError(new CallEnded('deadline')).code).toBe(GrpcCode.DEADLINE_EXCEEDED);
    expect(toGrpcError(new CallEnded('shutdown')).code).toBe(GrpcCode.UNAVAILABLE);
  });

  it('encodes google.rpc.Status as protobuf reads it', () => {
    const root = protobuf.parse(`syntax = "proto3"; package google.rpc;
      message Any { string type_url = 1; bytes value = 2; }
      message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
      message Duration { int64 seconds = 1; int32 nanos = 2; }
      message RetryInfo { Duration retry_delay = 1; }`, { keepCase: true }).root;
    const Status = root.lookupType('google.rpc.Status');
    const decoded = Status.toObject(Status.decode(encodeStatusDetails({ code: 8, message: 'busy é', reason: 'SY_UPSTREAM_BUSY', retryAfterS: 1.5 }))) as { code: number; message: string; details: Array<{ type_url: string; value: Uint8Array }> };
    expect(decoded).toMatchObject({ code: 8, message: 'busy é' });
    const retry = decoded.details.find((entry) => entry.type_url === retryInfoType) as { value: Uint8Array };
    const RetryInfo = root.lookupType('google.rpc.RetryInfo');
    expect(RetryInfo.toObject(RetryInfo.decode(retry.value), { longs: Number })).toEqual({ retry_delay: { seconds: 1, nanos: 500_000_000 } });
    expect(Status.toObject(Status.decode(encodeStatusDetails({ code: 5, message: '', reason: null, retryAfterS: null })))).toEqual({ code: 5 });
  });
});

describe('google.protobuf.Struct and JSON', () => {
  it('round-trips metadata and filters as REST has them', () => {
    const json = { lang: 'fr', year: 2023, ok: true, none: null, tags: ['a', 1, { deep: [false] }], filter: { in: [1, 2] } };
    expect(fromProtoStruct(toProtoStruct(json))).toEqual(json);
    expect(toProtoStruct(null)).toBeUndefined();
    expect(toProtoStruct(['not', 'an', 'object'])).toBeUndefined();
    expect(fromProtoStruct(undefined)).toBeUndefined();
  });

  it('refuses a Struct nested deeper than the bound instead of recursing without end', () => {
    let struct: Record<string, unknown> = { fields: {} };
    for (let depth = 0; depth < 100; depth++) struct = { fields: { inner: { structValue: struct } } };
    expect(() => fromProtoStruct(struct)).toThrow(StructTooDeep);
  });
});

describe('the descriptors reflection serves', () => {
  const decodeFiles = () => {
    const definition = canonicalDescriptors(loadModelService());
    const files = (definition['gateway.ChatRequest'] as { fileDescriptorProtos: Buffer[] }).fileDescriptorProtos;
    const struct = (definition['google.protobuf.Struct'] as { fileDescriptorProtos: Buffer[] }).fileDescriptorProtos;
    return [...new Set([...files, ...struct])].map((file) => descriptor.FileDescriptorProto.toObject(descriptor.FileDescriptorProto.decode(file)) as any);
  };

  it('names map entries as protoc does, lists imports and marks optional fields', () => {
    const files = decodeFiles();
    const gateway = files.find((file) => file.package === 'gateway');
    const wellKnown = files.find((file) => file.package === 'google.protobuf');
    expect(gateway.dependency).toEqual([wellKnown.name]);
    const struct = wellKnown.messageType.find((type: any) => type.name === 'Struct');
    expect(struct.nestedType[0]).toMatchObject({ name: 'FieldsEntry', options: { mapEntry: true } });
    expect(struct.field[0].typeName).toBe('FieldsEntry');
    const chat = gateway.messageType.find((type: any) => type.name === 'ChatRequest');
    expect(chat.field.filter((field: any) => field.proto3Optional === true).map((field: any) => field.name)).toEqual(['max_tokens', 'temperature', 'top_p', 'seed']);
    expect(chat.field.find((field: any) => field.name === 'messages').proto3Optional).toBeUndefined();
  });

  it('builds entry names from field names as protoc does', () => {
    expect(['fields', 'kind_config', 'x', 'a_b_c'].map(mapEntryName)).toEqual(['FieldsEntry', 'KindConfigEntry', 'XEntry', 'ABCEntry']);
  });
});

describe('one port for HTTP/1.1 and HTTP/2', () => {
  async function sharedServer(): Promise<{ port: number; http2: Buffer[]; close: () => Promise<void>; undecided: () => number }> {
    const server = http.createServer((request, response) => {
      let length = 0;
      request.on('data', (chunk: Buffer) => (length += chunk.length));
      request.on('end', () => response.end(`${request.method} ${request.url} ${length}`));
    });
    server.headersTimeout = 300;
    server.requestTimeout = 300;
    const http2: Buffer[] = [];
    const opened: Socket[] = [];
    const shared = shareHttpPort(server, (socket) => {
      opened.push(socket);
      socket.on('data', (chunk: Buffer) => http2.push(chunk));
      socket.resume();
    }, { firstBytesTimeoutMs: 300 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      port: (server.address() as { port: number }).port,
      http2,
      undecided: () => shared.undecided,
      close: () => {
        shared.close();
        server.closeAllConnections();
        for (const socket of opened) socket.destroy();
        return new Promise((resolve) => server.close(() => resolve()));
      },
    };
  }

  function rawSocket(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
    return new Promise((resolve) => {
      let text = '';
      const socket = connect(port, '127.0.0.1', () => resolve({ socket, received: () => text, closed }));
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('error', () => undefined);
      const closed = new Promise<void>((done) => socket.on('close', () => done()));
    });
  }

  it('gives a connection that starts with the HTTP/2 preface, even one byte at a time, to HTTP/2 with every byte', async () => {
    const shared = await sharedServer();
    try {
      const { socket } = await rawSocket(shared.port);
      // Each byte its own packet (no Nagle).
      socket.setNoDelay(true);
      const sent = Buffer.concat([http2Preface, Buffer.from('rest of the stream')]);
      for (let at = 0; at < http2Preface.length; at++) {
        socket.write(sent.subarray(at, at + 1));
        await new Promise((resolve) => setImmediate(resolve));
      }
      socket.write(sent.subarray(http2Preface.length));
      await expect.poll(() => Buffer.concat(shared.http2).length, { timeout: 10_000 }).toBe(sent.length);
      expect(Buffer.concat(shared.http2).equals(sent)).toBe(true);
      socket.destroy();
    } finally {
      await shared.close();
    }
  });

  it('gives anything else to HTTP/1.1 untouched: pipelined requests, a PUT that starts like the preface, a body in many packets', async () => {
    const shared = await sharedServer();
    try {
      const pipelined = await rawSocket(shared.port);
      pipelined.socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await pipelined.closed;
      expect(pipelined.received().match(/GET \/[ab] 0/g)).toEqual(['GET /a 0', 'GET /b 0']);
      const put = await rawSocket(shared.port);
      put.socket.write('P');
      await new Promise((resolve) => setImmediate(resolve));
      put.socket.write('UT /p HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\nConnection: close\r\n\r\n');
      for (let sent = 0; sent < 200_000; sent += 50_000) put.socket.write(Buffer.alloc(50_000, 0x61));
      await put.closed;
      expect(put.received()).toContain('PUT /p 200000');
      expect(shared.http2).toEqual([]);
    } finally {
      await shared.close();
    }
  });

  it('answers a connection that sends nothing with 408 after the head timeout, as Node does', async () => {
    const shared = await sharedServer();
    try {
      const silent = await rawSocket(shared.port);
      await expect.poll(() => shared.undecided()).toBe(1);
      await silent.closed;
      expect(silent.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(shared.undecided()).toBe(0);
    } finally {
      await shared.close();
    }
  });
});
