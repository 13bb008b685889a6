// Small SVG charts: enough to see a trend, no chart library to ship.

export interface Series {
  label: string;
  color: string;
  points: Array<number | null>;
}

/**
 * A line chart with both axes labelled: `yLabel` names the measure and its unit
 * ("ms", "requests per hour"), `xLabel` what the points are ("hour (UTC)").
 */
export function LineChart(props: { title: string; labels: string[]; series: Series[]; xLabel: string; yLabel: string; unit?: string; height?: number }) {
  const width = 640;
  const height = props.height ?? 200;
  const left = 56;
  const right = 16;
  const top = 16;
  const bottom = 44;
  const values = props.series.flatMap((series) => series.points.filter((point): point is number => point !== null));
  const max = Math.max(1, ...values);
  const count = Math.max(1, props.labels.length - 1);
  const x = (index: number) => left + (index * (width - left - right)) / count;
  const y = (value: number) => height - bottom - (value / max) * (height - top - bottom);
  return (
    <figure className="chart" data-testid={`chart-${props.title}`}>
      <figcaption>
        {props.title}
        {props.series.map((series) => (
          <span key={series.label} className="legend" style={{ color: series.color }}>
            ● {series.label}
          </span>
        ))}
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${props.title}: ${props.yLabel} by ${props.xLabel}`}>
        <line x1={left} y1={height - bottom} x2={width - right} y2={height - bottom} className="axis" />
        <line x1={left} y1={top} x2={left} y2={height - bottom} className="axis" />
        <text x={left - 4} y={top + 4} className="tick" textAnchor="end">
          {formatNumber(max)}
          {props.unit ?? ''}
        </text>
        <text x={left - 4} y={height - bottom} className="tick" textAnchor="end">
          0
        </text>
        <text className="axis-label" data-axis="y" textAnchor="middle" transform={`translate(14 ${(top + height - bottom) / 2}) rotate(-90)`}>
          {props.yLabel}
        </text>
        <text className="axis-label" data-axis="x" x={(left + width - right) / 2} y={height - 4} textAnchor="middle">
          {props.xLabel}
        </text>
        {props.series.map((series) => {
          const path = series.points
            .map((point, index) => (point === null ? null : `${x(index)},${y(point)}`))
            .filter((point): point is string => point !== null)
            .join(' ');
          return (
            <g key={series.label}>
              <polyline points={path} fill="none" stroke={series.color} strokeWidth={2} />
              {series.points.map((point, index) => (point === null ? null : <circle key={index} cx={x(index)} cy={y(point)} r={3} fill={series.color} />))}
            </g>
          );
        })}
        {props.labels.map((label, index) =>
          index % Math.ceil(props.labels.length / 6) === 0 ? (
            <text key={`${label}-${index}`} x={x(index)} y={height - bottom + 14} className="tick" textAnchor="middle">
              {label}
            </text>
          ) : null,
        )}
      </svg>
    </figure>
  );
}

export function Sparkline(props: { points: number[] }) {
  if (props.points.length < 2) return <span className="muted">—</span>;
  const max = Math.max(1, ...props.points);
  const path = props.points.map((point, index) => `${(index * 100) / (props.points.length - 1)},${30 - (point / max) * 28}`).join(' ');
  return (
    <svg className="sparkline" viewBox="0 0 100 32" preserveAspectRatio="none" aria-label="latency">
      <polyline points={path} fill="none" stroke="currentColor" strokeWidth={2} />
    </svg>
  );
}

export function formatNumber(value: number): string {
  if (value >= 1_000_000) return `${(value / 1_000_000).toFixed(1)}M`;
  if (value >= 1_000) return `${(value / 1_000).toFixed(1)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
