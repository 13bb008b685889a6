import type { OptionSpec } from './command-spec.ts';

/** Where Switchyard is and which key to use: every client command takes them (src/config/cli-settings.ts applies them). */
export const connectionOptions: readonly OptionSpec[] = [
  { name: 'url', type: 'string', value: 'URL', description: "the gateway's address", default: '$SWITCHYARD_URL, else http://localhost:$SWITCHYARD_PORT, port 8000' },
  { name: 'key', type: 'string', value: 'KEY', description: 'an admin key (a read key can list)', default: '$SWITCHYARD_API_KEY, else $SWITCHYARD_ADMIN_KEY' },
];

export const jsonOption: OptionSpec = { name: 'json', type: 'boolean', description: 'print JSON instead of a table', default: 'off' };
