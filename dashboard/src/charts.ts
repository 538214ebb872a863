// Tiny dependency-free charts: SVG sparklines for table rows, a canvas line chart for the
// live produce/consume view. Per-interval counts are turned into per-second rates here.

const SVG_NS = 'http://www.w3.org/2000/svg';

export function perSecond(counts: readonly number[], intervalMs: number): number[] {
  return counts.map((count) => (count * 1000) / intervalMs);
}

/** An SVG polyline of `values` scaled to its own maximum. */
export function sparkline(values: readonly number[], width = 120, height = 24): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('class', 'sparkline');
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  // 2 px margins so the 1.5 px stroke is not clipped at the top or bottom.
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`);
  const line = document.createElementNS(SVG_NS, 'polyline');
  line.setAttribute('points', points.join(' '));
  svg.append(line);
  return svg;
}

/** Draws series (same length) on a canvas, scaled to their common maximum, with a y label. */
export function lineChart(canvas: HTMLCanvasElement, series: ReadonlyArray<{ values: readonly number[]; color: string }>): void {
  const context = canvas.getContext('2d');
  if (context === null) return;
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const pad = 4;
  context.fillStyle = '#666';
  context.font = '11px sans-serif';
  context.fillText(`${max.toFixed(max < 10 ? 1 : 0)}/s`, pad, 12);
  for (const { values, color } of series) {
    if (values.length < 2) continue;
    const step = (width - 2 * pad) / (values.length - 1);
    context.strokeStyle = color;
    context.lineWidth = 1.5;
    context.beginPath();
    values.forEach((v, i) => {
      const x = pad + i * step;
      const y = height - pad - (v / max) * (height - 2 * pad - 14);
      if (i === 0) context.moveTo(x, y);
      else context.lineTo(x, y);
    });
    context.stroke();
  }
}
