const minuteMs = 60_000;
const hourMs = 3_600_000;

/** The rollup rows a time window [from, to) reads: whole hours from hour rows, the edges from minute rows. */
export interface RollupWindow {
  hours: { from: string; to: string } | null;
  minutes: Array<{ from: string; to: string }>;
}

/**
 * Rollups resolve to the minute: a window starting inside a minute counts
 * that whole minute. Whole hours inside the window come from hour rows (60
 * times fewer to read), the rest from minute rows.
 */
export function rollupWindow(from: string, to: string, minuteRowsFrom = Number.NEGATIVE_INFINITY): RollupWindow {
  let start = Math.floor(Date.parse(from) / minuteMs) * minuteMs;
  let end = Date.parse(to);
  // Before `minuteRowsFrom` there are hour rows only (per-key minute rows are kept 48 h): an edge there counts its whole hour.
  if (start < minuteRowsFrom) start = Math.floor(start / hourMs) * hourMs;
  if (end < minuteRowsFrom) end = Math.ceil(end / hourMs) * hourMs;
  const firstHour = Math.ceil(start / hourMs) * hourMs;
  const lastHour = Math.floor(end / hourMs) * hourMs;
  const iso = (time: number) => new Date(time).toISOString();
  if (firstHour >= lastHour) return { hours: null, minutes: [{ from: iso(start), to: iso(end) }] };
  const minutes = [];
  if (start < firstHour) minutes.push({ from: iso(start), to: iso(firstHour) });
  if (lastHour < end) minutes.push({ from: iso(lastHour), to: iso(end) });
  return { hours: { from: iso(firstHour), to: iso(lastHour) }, minutes };
}
