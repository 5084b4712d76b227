/**
 * Serialises request values into a YAML extra-vars file in which every string, mapping keys below
 * the top level included, is tagged `!unsafe`. Ansible templates extra vars; the tag is its only way of saying "this is data":
 * a value such as `{{ lookup('pipe','id') }}` then arrives in the playbook as that literal text.
 * JSON cannot carry the tag, so the file is written here rather than by ansible-runner.
 *
 * Strings are written as YAML double-quoted scalars with every character outside printable
 * ASCII escaped, so no line break, NUL or look-alike can change the document's structure.
 */
export function toUnsafeYaml(vars: Record<string, unknown>): string {
  // The top level's keys are the variables' names (checked identifiers, see routes/service-vars.ts)
  // and stay plain: Ansible looks variables up by them. Every key below is data like any value:
  // `dict2items`, `.keys()` or a loop hand keys to the templar as readily as values.
  const entries = Object.entries(vars).map(([k, v]) => `${quote(k)}: ${flow(v)}`);
  return `{${entries.join(', ')}}\n`;
}

function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp <= 0xffff) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}

function flow(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return `!unsafe ${quote(value)}`;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('extra vars cannot hold a non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(flow).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `!unsafe ${quote(k)}: ${flow(v)}`);
    return `{${entries.join(', ')}}`;
  }
  throw new TypeError(`extra vars cannot hold a ${typeof value}`);
}
