import { fileURLToPath } from 'node:url';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';

/** The shipped proto: clients compile it, reflection serves it. */
export const modelServiceProtoPath = fileURLToPath(new URL('../../proto/gateway/model_service.proto', import.meta.url));

/** The service's full name, as grpcurl and the reflection service list it. */
export const modelServiceName = 'gateway.ModelService';

/**
 * Field names stay the proto's (snake_case, the REST JSON names), int64 is a
 * JavaScript number (token counts and byte sizes fit), and an unset field is
 * absent rather than a default: `max_tokens` not sent is not `max_tokens: 0`.
 */
export const protoLoadOptions: Options = { keepCase: true, longs: Number, enums: String, defaults: false, oneofs: false };

export function loadModelService(): PackageDefinition {
  return loadSync(modelServiceProtoPath, protoLoadOptions);
}
