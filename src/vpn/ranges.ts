/**
 * Sets of IPv4 addresses and ports as sorted, disjoint, inclusive integer ranges: the
 * arithmetic the VPN policy compiler needs (union, difference, intersection, CIDR text).
 */
import { parseCidr, parseIPv4 } from "../cluster/net.ts";

/** An inclusive range of integers (IPv4 addresses as uint32, or ports). */
export interface Range {
  from: number;
  to: number;
}

/** Sorted, disjoint, non-adjacent ranges. Every function here returns this normal form. */
export type RangeSet = Range[];

/** Every IPv4 address. */
export const allAddresses: RangeSet = [{ from: 0, to: 0xffffffff }];
/** Every port (0 included, so "all" means all). */
export const allPorts: RangeSet = [{ from: 0, to: 65535 }];

/** The normal form of any list of ranges. */
export function normalize(ranges: readonly Range[]): RangeSet {
  const sorted = ranges.filter((r) => r.from <= r.to).sort((a, b) => a.from - b.from);
  const out: RangeSet = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}

/** Every member of any of `sets`. */
export const union = (...sets: readonly RangeSet[]): RangeSet => normalize(sets.flat());

/** The part of `a` outside `b`. */
export function subtract(a: RangeSet, b: RangeSet): RangeSet {
  const out: RangeSet = [];
  for (const r of a) {
    let from = r.from;
    for (const cut of b) {
      if (cut.to < from || cut.from > r.to) continue;
      if (cut.from > from) out.push({ from, to: cut.from - 1 });
      from = cut.to + 1;
    }
    if (from <= r.to) out.push({ from, to: r.to });
  }
  return normalize(out);
}

/** The members of both. */
export function intersect(a: RangeSet, b: RangeSet): RangeSet {
  const out: RangeSet = [];
  for (const x of a)
    for (const y of b) {
      const from = Math.max(x.from, y.from);
      const to = Math.min(x.to, y.to);
      if (from <= to) out.push({ from, to });
    }
  return normalize(out);
}

/** Whether `n` is a member. */
export const contains = (set: RangeSet, n: number): boolean => set.some((r) => r.from <= n && n <= r.to);

/** Whether every member of `inner` is in `outer`. */
export const covers = (outer: RangeSet, inner: RangeSet): boolean => subtract(inner, outer).length === 0;

/** Parses dotted-quad IPv4 text to a uint32; null for anything else. */
export function ipToNumber(text: string): number | null {
  const ip = parseIPv4(text);
  return ip ? ip.octets.reduce((n, octet) => n * 256 + octet, 0) : null;
}

/** Dotted-quad text of a uint32. */
export const numberToIp = (n: number): string =>
  [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");

/** An IPv4 CIDR (`a.b.c.d/n`) or bare address (a /32) as a range; null when it is neither or has host bits set. */
export function cidrRange(text: string): Range | null {
  if (!text.includes("/")) {
    const n = ipToNumber(text);
    return n === null ? null : { from: n, to: n };
  }
  const cidr = parseCidr(text);
  if (!cidr || cidr.hostBitsSet || cidr.address.kind() !== "ipv4") return null;
  const from = ipToNumber(cidr.address.toString())!;
  return { from, to: from + 2 ** (32 - cidr.prefix) - 1 };
}

/** The smallest list of CIDRs covering exactly `set` (a single address is written a.b.c.d/32). */
export function toCidrs(set: RangeSet): string[] {
  const out: string[] = [];
  for (const r of set) {
    let from = r.from;
    while (from <= r.to) {
      let size = 1;
      while (from % (size * 2) === 0 && from + size * 2 - 1 <= r.to && size < 2 ** 32) size *= 2;
      out.push(`${numberToIp(from)}/${32 - Math.log2(size)}`);
      from += size;
    }
  }
  return out;
}

/** Each range as a CIDR when it is exactly one (a bare address for a /32), else as `first-last`: nft set elements. */
export function rangeTexts(set: RangeSet): string[] {
  return set.map((r) => {
    const [cidr, ...more] = toCidrs([r]);
    if (more.length > 0) return `${numberToIp(r.from)}-${numberToIp(r.to)}`;
    return cidr!.endsWith("/32") ? cidr!.slice(0, -3) : cidr!;
  });
}

/** Port ranges as nft/people write them: `53`, `80-90`. */
export const portText = (r: Range): string => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`);
