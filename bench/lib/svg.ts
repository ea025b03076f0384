/**
 * Hand-rolled SVG charts for benchmark reports (no dependencies): a line chart (numeric x axis,
 * optional dashed reference series) and a grouped bar chart with a log-scale y axis.
 */

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** "12.3k", "1.2M" */
export function shortNumber(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e6) return `${+(n / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e3) return `${+(n / 1e3).toFixed(a >= 1e4 ? 0 : 1)}k`;
  if (a >= 1 || a === 0) return `${+n.toFixed(a >= 10 ? 0 : 1)}`;
  return `${+n.toPrecision(2)}`;
}

/** round "nice" tick values from 0 to at least max */
function linearTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(+v.toPrecision(12));
  return ticks;
}

export interface LineSeries {
  name: string;
  points: { x: number; y: number }[];
  color?: string;
  /** SVG stroke-dasharray, e.g. "6,4" for reference lines */
  dash?: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** x values to label (default: every x present) */
  xTicks?: number[];
  width?: number;
  height?: number;
  subtitle?: string;
}

export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? 760;
  const legendRows = o.series.length;
  const plotH = o.height ?? 340;
  const m = { left: 70, right: 250, top: o.subtitle ? 56 : 40, bottom: 50 };
  const height = Math.max(plotH, m.top + legendRows * 18 + 20);
  const pw = width - m.left - m.right;
  const ph = plotH - m.top - m.bottom;
  const xs = o.xTicks ?? [...new Set(o.series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const yMax = Math.max(1, ...o.series.flatMap((s) => s.points.map((p) => p.y)));
  const yTicks = linearTicks(yMax * 1.05);
  const yTop = yTicks[yTicks.length - 1];
  const X = (x: number): number => m.left + (xMax === xMin ? pw / 2 : ((x - xMin) / (xMax - xMin)) * pw);
  const Y = (y: number): number => m.top + ph - (y / yTop) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${width / 2 - m.right / 2 + m.left / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`);
  if (o.subtitle) out.push(`<text x="${width / 2 - m.right / 2 + m.left / 2}" y="38" text-anchor="middle" fill="#555">${esc(o.subtitle)}</text>`);
  for (const t of yTicks) {
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${Y(t)}" y2="${Y(t)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 6}" y="${Y(t) + 4}" text-anchor="end">${shortNumber(t)}</text>`);
  }
  for (const x of xs) {
    out.push(`<line x1="${X(x)}" x2="${X(x)}" y1="${m.top + ph}" y2="${m.top + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${X(x)}" y="${m.top + ph + 18}" text-anchor="middle">${shortNumber(x)}</text>`);
  }
  out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${m.top + ph}" y2="${m.top + ph}" stroke="#333"/>`);
  out.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + ph}" stroke="#333"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${plotH - 10}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    if (pts.length > 1) {
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ')}"/>`,
      );
    }
    for (const p of pts) {
      out.push(
        `<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="3.5" fill="${s.dash ? 'white' : color}" stroke="${color}" stroke-width="1.5"><title>${esc(s.name)}: ${Math.round(p.y).toLocaleString('en-US')} at ${p.x}</title></circle>`,
      );
    }
    const ly = m.top + i * 18;
    const lx = m.left + pw + 16;
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly + 6}" y2="${ly + 6}" stroke="${color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 30}" y="${ly + 10}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export interface BarGroup {
  label: string;
  /** one value per bar name (same order as BarChartOptions.bars); null = not measured */
  values: (number | null)[];
}

export interface BarChartOptions {
  title: string;
  subtitle?: string;
  yLabel: string;
  /** names of the bars inside each group (legend) */
  bars: string[];
  groups: BarGroup[];
  /** log10 y axis (for latency percentiles spanning decades) */
  log?: boolean;
  width?: number;
  height?: number;
}

export function barChart(o: BarChartOptions): string {
  const m = { left: 70, right: 110, top: o.subtitle ? 76 : 60, bottom: 150 };
  const groupW = Math.max(40, o.bars.length * 12 + 16);
  const width = o.width ?? Math.max(560, m.left + m.right + o.groups.length * groupW);
  const height = o.height ?? 420;
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const values = o.groups.flatMap((g) => g.values).filter((v): v is number => v !== null && v > 0);
  const out: string[] = [];
  let Y: (v: number) => number;
  let ticks: number[];
  if (o.log) {
    const lo = Math.floor(Math.log10(Math.min(...values, 1)));
    const hi = Math.ceil(Math.log10(Math.max(...values, 10)));
    ticks = [];
    for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
    Y = (v: number): number => m.top + ph - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo || 1)) * ph;
  } else {
    ticks = linearTicks(Math.max(1, ...values) * 1.05);
    const top = ticks[ticks.length - 1];
    Y = (v: number): number => m.top + ph - (v / top) * ph;
  }
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`);
  if (o.subtitle) out.push(`<text x="${width / 2}" y="38" text-anchor="middle" fill="#555">${esc(o.subtitle)}</text>`);
  for (const t of ticks) {
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${Y(t)}" y2="${Y(t)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 6}" y="${Y(t) + 4}" text-anchor="end">${shortNumber(t)}</text>`);
  }
  out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${m.top + ph}" y2="${m.top + ph}" stroke="#333"/>`);
  out.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + ph}" stroke="#333"/>`);
  out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  const gw = pw / Math.max(1, o.groups.length);
  const bw = Math.min(14, (gw - 10) / o.bars.length);
  o.groups.forEach((g, gi) => {
    const gx = m.left + gi * gw + (gw - bw * o.bars.length) / 2;
    g.values.forEach((v, bi) => {
      if (v === null || !(v > 0)) return;
      const y = Y(v);
      out.push(
        `<rect x="${(gx + bi * bw).toFixed(1)}" y="${y.toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${(m.top + ph - y).toFixed(1)}" fill="${PALETTE[bi % PALETTE.length]}"><title>${esc(g.label)} ${esc(o.bars[bi])}: ${v}</title></rect>`,
      );
    });
    const cx = m.left + gi * gw + gw / 2;
    out.push(`<text transform="translate(${cx} ${m.top + ph + 10}) rotate(40)" text-anchor="start">${esc(g.label)}</text>`);
  });
  o.bars.forEach((name, i) => {
    const lx = m.left + 10 + i * 90;
    const ly = m.top - 10;
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`);
    out.push(`<text x="${lx + 16}" y="${ly}">${esc(name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
