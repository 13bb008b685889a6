import { UpstreamError } from '../../data/upstream/upstream-error.ts';
import { AppError } from '../../errors/app-error.ts';
import { DetectionError } from '../discovery/detect-server-kind.ts';
import type { CheckOutcome } from './health-transition.ts';

/**
 * Maps a failed kind detection (itself, or as the cause of SY_DETECTION_FAILED)
 * to a check outcome, as a failed probe would be; null for any other error.
 */
export function classifyDetectionFailure(error: unknown, hasApiKey: boolean): Exclude<CheckOutcome, { kind: 'success' }> | null {
  const detection = error instanceof DetectionError ? error : error instanceof AppError && error.cause instanceof DetectionError ? error.cause : null;
  if (detection === null) return null;
  const message = `Not detected yet: ${detection.message}.`;
  if (detection.authStatus !== null) return { kind: 'misconfigured', message: `${message} ${hasApiKey ? "Check the server's api_key." : "Set the server's api_key."}` };
  if (detection.transport !== null) return { ...classifyFailure(detection.transport, hasApiKey), message };
  return { kind: 'failure', reason: 'bad_response', message };
}

/** Maps a probe's error to a check outcome: 401/403 is misconfiguration, the rest count as failures. */
export function classifyFailure(error: unknown, hasApiKey: boolean): Exclude<CheckOutcome, { kind: 'success' }> {
  if (!(error instanceof UpstreamError)) {
    return { kind: 'failure', reason: 'bad_response', message: 'The probe failed unexpectedly.' };
  }
  switch (error.failure) {
    case 'auth':
      return hasApiKey
        ? { kind: 'misconfigured', message: `${error.message}. Check the server's api_key.` }
        : { kind: 'misconfigured', message: `${error.message.replace('rejected the API key', 'requires an API key')}. Set the server's api_key.` };
    case 'connect':
    case 'aborted':
      return { kind: 'failure', reason: 'unreachable', message: error.message };
    case 'timeout':
      return { kind: 'failure', reason: 'timeout', message: error.message };
    case 'status':
      return { kind: 'failure', reason: 'http_error', message: error.message };
    case 'protocol':
      return { kind: 'failure', reason: 'bad_response', message: error.message };
  }
}
