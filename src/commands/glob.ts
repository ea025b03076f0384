/**
 * Redis glob matching (util.c stringmatchlen) over bytes: `*`, `?`, `[abc]`, `[^a-z]`, `\x`.
 * Byte for byte the same rules, including the early stop that keeps `a*a*a*...b` from going exponential.
 */
export function globMatch(pattern: Uint8Array, str: Uint8Array): boolean {
  const skipLonger = { value: false };
  return match(pattern, 0, pattern.length, str, 0, str.length, skipLonger);
}

function match(pat: Uint8Array, p: number, pEnd: number, str: Uint8Array, s: number, sEnd: number, skipLonger: { value: boolean }): boolean {
  while (p < pEnd && s < sEnd) {
    const c = pat[p];
    if (c === 42 /* * */) {
      while (p + 1 < pEnd && pat[p + 1] === 42) p++;
      if (p + 1 === pEnd) return true;
      while (s < sEnd) {
        if (match(pat, p + 1, pEnd, str, s, sEnd, skipLonger)) return true;
        if (skipLonger.value) return false;
        s++;
      }
      skipLonger.value = true;
      return false;
    } else if (c === 63 /* ? */) {
      s++;
    } else if (c === 91 /* [ */) {
      p++;
      const not = p < pEnd && pat[p] === 94; /* ^ */
      if (not) p++;
      let matched = false;
      for (;;) {
        if (p < pEnd && pat[p] === 92 /* \ */ && pEnd - p >= 2) {
          p++;
          if (pat[p] === str[s]) matched = true;
        } else if (p < pEnd && pat[p] === 93 /* ] */) {
          break;
        } else if (p >= pEnd) {
          p--;
          break;
        } else if (pEnd - p >= 3 && pat[p + 1] === 45 /* - */) {
          let start = pat[p];
          let end = pat[p + 2];
          if (start > end) [start, end] = [end, start];
          p += 2;
          if (str[s] >= start && str[s] <= end) matched = true;
        } else if (pat[p] === str[s]) {
          matched = true;
        }
        p++;
      }
      if (not) matched = !matched;
      if (!matched) return false;
      s++;
    } else {
      if (c === 92 /* \ */ && pEnd - p >= 2) p++;
      if (pat[p] !== str[s]) return false;
      s++;
    }
    p++;
    if (s === sEnd) {
      while (p < pEnd && pat[p] === 42) p++;
      break;
    }
  }
  return p === pEnd && s === sEnd;
}

/** true when the pattern matches every key (Redis treats exactly `*` as no pattern). */
export function matchesAll(pattern: Uint8Array): boolean {
  return pattern.length === 1 && pattern[0] === 42;
}
