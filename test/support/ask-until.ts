/**
 * Routing picks among equal deployments at random: to see a failover from a
 * particular server, ask until that server was asked first (each pick is a
 * coin toss, so 60 rounds all missing it is 2⁻⁶⁰), checking every answer on
 * the way. Bounded by count, never by time.
 */
export async function askUntil(wasAsked: () => boolean, ask: () => Promise<void>, rounds = 60): Promise<void> {
  for (let round = 0; round < rounds && !wasAsked(); round++) await ask();
  if (!wasAsked()) throw new Error(`the server under test was never picked in ${rounds} requests`);
}
