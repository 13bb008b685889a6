import { createServer, type Server } from 'node:http';

export interface ReceivedEvent {
  type: string;
  data: Record<string, any>;
}

/** A webhook receiver on loopback that keeps every delivery's JSON body and answers 200. */
export async function startWebhookReceiver(): Promise<{ url: string; received: ReceivedEvent[]; close: () => void; server: Server }> {
  const received: ReceivedEvent[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (part: Buffer) => (body += part.toString('utf8')));
    request.on('end', () => {
      received.push(JSON.parse(body) as ReceivedEvent);
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`, received, server, close: () => server.close() };
}
