import protobuf from 'protobufjs/minimal.js';

const { Writer } = protobuf;

/**
 * google.rpc.Status for `grpc-status-details-bin`, the trailer rich gRPC
 * clients read: the code, the message, an ErrorInfo (reason: the catalogue
 * code, domain: switchyard) and, when waiting helps, a RetryInfo, written with
 * protobufjs's Writer (four small messages need no generated code).
 */
export interface StatusDetails {
  code: number;
  message: string;
  /** The catalogue code (ErrorInfo's reason); null: no ErrorInfo. */
  reason: string | null;
  retryAfterS: number | null;
}

export const errorInfoType = 'type.googleapis.com/google.rpc.ErrorInfo';
export const retryInfoType = 'type.googleapis.com/google.rpc.RetryInfo';

export function encodeStatusDetails(details: StatusDetails): Buffer {
  // Tags are (field number << 3) | wire type: 0 for varints, 2 for strings, bytes and messages. proto3 leaves zero values out.
  const writer = Writer.create();
  // Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
  if (details.code > 0) writer.uint32(8).int32(details.code);
  if (details.message !== '') writer.uint32(18).string(details.message);
  if (details.reason !== null) {
    // Any { string type_url = 1; bytes value = 2; } holding ErrorInfo { string reason = 1; string domain = 2; }
    writer.uint32(26).fork().uint32(10).string(errorInfoType);
    writer.uint32(18).fork().uint32(10).string(details.reason).uint32(18).string('switchyard').ldelim();
    writer.ldelim();
  }
  if (details.retryAfterS !== null) {
    const seconds = Math.floor(details.retryAfterS);
    const nanos = Math.round((details.retryAfterS - seconds) * 1e9);
    // Any holding RetryInfo { google.protobuf.Duration retry_delay = 1; }, Duration { int64 seconds = 1; int32 nanos = 2; }
    writer.uint32(26).fork().uint32(10).string(retryInfoType);
    writer.uint32(18).fork().uint32(10).fork();
    if (seconds > 0) writer.uint32(8).int64(seconds);
    if (nanos > 0) writer.uint32(16).int32(nanos);
    writer.ldelim().ldelim().ldelim();
  }
  return Buffer.from(writer.finish());
}
