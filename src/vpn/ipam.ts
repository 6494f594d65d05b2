/**
 * VPN address allocation: one /32 per user in 10.0.100.0/24, .1 being the server. An
 * address stays taken while any user holds it, enabled or not, so enabling a user
 * again can never collide with someone added meanwhile.
 */
import { cidrContains, parseCidr, parseIPv4, vpnNetwork } from "../cluster/net.ts";
import { ExitCode, UserError } from "../errors.ts";

/** First and last host number a user may get (.0 is the network, .1 the server, .255 broadcast). */
export const firstUserHost = 2;
export const lastUserHost = 254;

const subnet = parseCidr(vpnNetwork.subnet)!;
const prefix = vpnNetwork.subnet.split(".").slice(0, 3).join(".");

/** The host number of `ip` inside the VPN subnet, or null when it is not an address there. */
function hostNumber(ip: string): number | null {
  const parsed = parseIPv4(ip);
  return parsed && cidrContains(subnet, parsed) ? parsed.octets[3]! : null;
}

/**
 * The lowest free user address, given the addresses users hold (anything that is not
 * a VPN address is ignored). Throws UserError (exit 2) when all 253 are taken.
 */
export function nextFreeAddress(taken: Iterable<string>): string {
  const used = new Set<number>();
  for (const ip of taken) {
    const host = hostNumber(ip);
    if (host !== null) used.add(host);
  }
  for (let host = firstUserHost; host <= lastUserHost; host++) if (!used.has(host)) return `${prefix}.${host}`;
  throw new UserError(
    `the VPN subnet ${vpnNetwork.subnet} is full: all ${lastUserHost - firstUserHost + 1} user addresses are taken; free one with \`nixlab vpn remove NAME\` (disabled users keep theirs)`,
    { exitCode: ExitCode.invalidInput },
  );
}

/**
 * Checks an address asked for with --ip: inside the subnet, not reserved, not held by
 * another user (`holders` maps address to user name). Throws UserError (exit 2).
 */
export function checkRequestedAddress(ip: string, holders: ReadonlyMap<string, string>): void {
  const host = hostNumber(ip);
  if (host === null || host < firstUserHost || host > lastUserHost) {
    throw new UserError(
      `--ip ${ip} is not a user address: use ${prefix}.${firstUserHost} to ${prefix}.${lastUserHost}, or leave --ip out to get the lowest free one`,
      { exitCode: ExitCode.invalidInput },
    );
  }
  for (const [held, name] of holders) {
    if (hostNumber(held) === host) {
      throw new UserError(
        `--ip ${ip} is already the address of VPN user ${name}; leave --ip out to get the lowest free address`,
        { exitCode: ExitCode.invalidInput },
      );
    }
  }
}
