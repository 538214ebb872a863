// Plain-text tables for `bolide admin` (mqadmin prints aligned columns too): a header row and
// rows, each column as wide as its widest cell.
export function formatTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((row) => row.map((cell) => String(cell)))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return `${cells.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n')}\n`;
}

/** `key: value` lines, keys aligned. */
export function formatPairs(pairs: Array<[string, string | number]>): string {
  const width = Math.max(0, ...pairs.map(([key]) => key.length));
  return `${pairs.map(([key, value]) => `${key.padEnd(width)}  ${String(value)}`).join('\n')}\n`;
}
