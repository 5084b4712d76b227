/**
 * Perl patterns as the schema dump spells them, matched the way JSONSchema.pm does
 * (`$value =~ m/^$pattern$/`), by translating them to JavaScript.
 */

const patternCache = new Map<string, RegExp | null>();

const swapCase = (c: string) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase());
const isLetter = (c: string) => /^[A-Za-z]$/.test(c);

/** A character class body made case-insensitive: letters and letter ranges get their other case. */
function caseFoldClass(body: string): string {
  let extra = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (body[i + 1] === '-' && i + 2 < body.length && isLetter(c) && isLetter(body[i + 2]!)) {
      extra += `${swapCase(c)}-${swapCase(body[i + 2]!)}`;
      i += 2;
    } else if (isLetter(c)) {
      extra += swapCase(c);
    }
  }
  return body + extra;
}

/**
 * Perl's inline modifiers: `(?^flags:…)` (defaults, then flags: how Perl stringifies a `qr//`,
 * hence the schema dump's `(?^i:…)`), `(?flags-flags:…)` (added to / removed from the enclosing
 * ones) and the group-less `(?flags)` / `(?^flags)` (to the end of the enclosing group).
 */
const PERL_MODIFIERS = /^\(\?(\^?)([a-z]*)(?:-([a-z]*))?([:)])/;

/**
 * Translates a Perl regex (as the schema dump spells it) to JavaScript: inline modifier groups
 * (`(?^i:…)`, `(?i:…)`, `(?i)`…; `i` is case-folded by hand since Node 20 has no inline
 * modifiers, `s` makes `.` match a newline, the others change nothing the schema's patterns use),
 * `{,n}` quantifiers, and `$`, which in Perl also matches before a final newline.
 */
export function translatePerlRegex(src: string): string {
  let out = '';
  const stack: [boolean, boolean][] = [];
  let ci = false;
  let dotall = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      out += c + (src[i + 1] ?? '');
      i++;
    } else if (c === '[') {
      let j = i + 1;
      if (src[j] === '^') j++;
      if (src[j] === ']') j++;
      while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
      const negated = src[i + 1] === '^';
      const body = src.slice(i + (negated ? 2 : 1), j);
      out += `[${negated ? '^' : ''}${ci ? caseFoldClass(body) : body}]`;
      i = j;
    } else if (c === '(') {
      const m = PERL_MODIFIERS.exec(src.slice(i));
      if (m && (m[1] || m[2] || m[3] !== undefined || m[4] === ')')) {
        const [, caret, on = '', off = '', end] = m;
        const apply = (flag: string, current: boolean) => (caret ? on.includes(flag) : (current || on.includes(flag)) && !off.includes(flag));
        if (end === ':') {
          stack.push([ci, dotall]);
          out += '(?:';
        }
        ci = apply('i', ci);
        dotall = apply('s', dotall);
        i += m[0].length - 1;
      } else {
        stack.push([ci, dotall]);
        out += c;
      }
    } else if (c === ')') {
      [ci, dotall] = stack.pop() ?? [false, false];
      out += c;
    } else if (c === '{' && /^\{,\d+\}/.test(src.slice(i))) {
      out += '{0,';
      i++;
    } else if (c === '$') {
      out += '(?=\\n?$)';
    } else if (c === '.' && dotall) {
      out += '[\\s\\S]';
    } else if (ci && isLetter(c)) {
      out += `[${c}${swapCase(c)}]`;
    } else {
      out += c;
    }
  }
  return out;
}

/** `$value =~ m/^$pattern$/`; a pattern JavaScript cannot compile is not enforced. */
export function perlPatternMatches(pattern: string, text: string): boolean {
  let re = patternCache.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(`^${translatePerlRegex(pattern)}(?=\\n?$)`);
    } catch {
      re = null;
    }
    patternCache.set(pattern, re);
  }
  return re ? re.test(text) : true;
}
