import { api, ApiError, type ServerRecord } from '../api.ts';

interface TestReport {
  ok: boolean;
  latency_ms: number;
  models_found: number;
  error?: string;
}

/** Tests a server's connection now (POST …/test) and says what happened, in a sentence for a notice. */
export async function testConnection(server: Pick<ServerRecord, 'id' | 'name'>): Promise<{ ok: boolean; text: string }> {
  try {
    const report = await api<TestReport>('POST', `/api/v1/model-servers/${server.id}/test`);
    return report.ok
      ? { ok: true, text: `${server.name} answered in ${Math.round(report.latency_ms)} ms with ${report.models_found} model(s).` }
      : { ok: false, text: `${server.name}: ${report.error ?? 'the test failed'} (after ${Math.round(report.latency_ms)} ms).` };
  } catch (caught) {
    return { ok: false, text: caught instanceof ApiError ? caught.message : `Could not test ${server.name}.` };
  }
}
