/**
 * google.rpc.Status for `grpc-status-details-bin`, the trailer rich gRPC
 * clients read: the code, the message, an ErrorInfo (reason: the catalogue
 * code, domain: switchyard) and, when waiting helps, a RetryInfo. Written by
 * hand: four small messages do not need a protobuf runtime of their own.
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
  // ErrorInfo { string reason = 1; string domain = 2; }
  const anys = details.reason === null ? [] : [any(errorInfoType, Buffer.concat([text(1, details.reason), text(2, 'switchyard')]))];
  if (details.retryAfterS !== null) {
    const seconds = Math.floor(details.retryAfterS);
    const nanos = Math.round((details.retryAfterS - seconds) * 1e9);
    // Duration { int64 seconds = 1; int32 nanos = 2; }
    const duration = Buffer.concat([seconds > 0 ? varintField(1, seconds) : Buffer.alloc(0), nanos > 0 ? varintField(2, nanos) : Buffer.alloc(0)]);
    // RetryInfo { google.protobuf.Duration retry_delay = 1; }
    anys.push(any(retryInfoType, bytes(1, duration)));
  }
  // Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
  // proto3 leaves zero values out.
  return Buffer.concat([details.code > 0 ? varintField(1, details.code) : Buffer.alloc(0), details.message === '' ? Buffer.alloc(0) : text(2, details.message), ...anys.map((entry) => bytes(3, entry))]);
}

/** google.protobuf.Any { string type_url = 1; bytes value = 2; } */
function any(typeUrl: string, value: Buffer): Buffer {
  return Buffer.concat([text(1, typeUrl), bytes(2, value)]);
}

function text(field: number, value: string): Buffer {
  return bytes(field, Buffer.from(value, 'utf8'));
}

function bytes(field: number, value: Buffer): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(value.length), value]);
}

function varintField(field: number, value: number): Buffer {
  return Buffer.concat([varint(field << 3), varint(value)]);
}

function varint(value: number): Buffer {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return Buffer.from(out);
}
