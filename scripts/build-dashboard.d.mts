/** Builds the dashboard into `outDir` (default dashboard/build); resolves to the files written. */
export function buildDashboard(outDir?: string): Promise<string[]>;
