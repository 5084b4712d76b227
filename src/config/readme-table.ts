import { configurationTable } from './schema.js';

/** The README's Configuration table lies between these two lines (written by `npm run config-table`). */
const TABLE_START = '<!-- configuration table: generated from src/config/schema.ts by `npm run config-table` -->';
const TABLE_END = '<!-- end of configuration table -->';

/** The table as the README holds it now, or null when the markers are missing. */
export function readmeTable(readme: string): string | null {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) return null;
  return readme.slice(start + TABLE_START.length + 1, end);
}

/** The README with its table replaced by the schema's. */
export function withTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md: the lines ${TABLE_START} and ${TABLE_END} are missing`);
  return readme.slice(0, start + TABLE_START.length) + '\n' + configurationTable() + readme.slice(end);
}
