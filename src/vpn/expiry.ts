/**
 * VPN user expiry: `expires: YYYY-MM-DD` is the last day a peer works, in the cluster's
 * time zone. The render turns it into the instant the server drops the peer (the start
 * of the next day there), so the pod only compares integers and needs no time zone data.
 */
import type { Cluster, VpnUser } from "../cluster/model.ts";

const dateText = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The year, month and day of a real calendar date written YYYY-MM-DD; null for anything else. */
export function parseDate(text: string): { year: number; month: number; day: number } | null {
  const m = dateText.exec(text);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return null;
  return { year, month, day };
}

/** Milliseconds the wall clock of `timeZone` is ahead of UTC at instant `ms`. */
function zoneOffset(ms: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return wall - Math.floor(ms / 1000) * 1000;
}

/**
 * The Unix time (seconds) at which a peer expiring on `date` stops working: midnight at
 * the end of that day in `timeZone`. Throws Error when `date` is not a valid YYYY-MM-DD
 * (validation rejects those first).
 */
export function expiryEpoch(date: string, timeZone: string): number {
  const d = parseDate(date);
  if (!d) throw new Error(`not a date: ${date}`);
  const wallMidnight = Date.UTC(d.year, d.month - 1, d.day + 1);
  // Two rounds settle the offset even when it differs on the two sides of a DST change.
  let instant = wallMidnight - zoneOffset(wallMidnight, timeZone);
  instant = wallMidnight - zoneOffset(instant, timeZone);
  return Math.floor(instant / 1000);
}

/** True when `user` has an expiry date and `nowMs` is at or past its end. */
export function isExpired(user: VpnUser, timeZone: string, nowMs: number): boolean {
  return user.expires !== undefined && nowMs >= expiryEpoch(user.expires, timeZone) * 1000;
}

/** How far ahead `check` warns about users that are about to expire. */
export const expiryWarningDays = 7;

/**
 * Warnings for enabled users that expired or expire within `expiryWarningDays` of
 * `nowMs`, one line each, saying what happens and how to extend. Pure.
 */
export function expiryWarnings(cluster: Cluster, nowMs: number): string[] {
  const tz = cluster.config.timezone;
  const out: string[] = [];
  for (const user of cluster.vpn.enabledUsers) {
    if (user.expires === undefined) continue;
    const left = expiryEpoch(user.expires, tz) * 1000 - nowMs;
    const extend = `change wireguardUsers.${user.name}.expires to extend it, or remove the user with \`nixlab vpn remove ${user.name}\``;
    if (left <= 0) {
      out.push(`VPN user ${user.name} expired on ${user.expires}: the server no longer accepts it; ${extend}`);
    } else if (left <= expiryWarningDays * 86_400_000) {
      const days = Math.ceil(left / 86_400_000);
      out.push(
        `VPN user ${user.name} expires on ${user.expires} (within ${days === 1 ? "a day" : `${days} days`}); ${extend}`,
      );
    }
  }
  return out;
}
