/** Which Node.js a part of nixlab needs beyond the CLI's own (Node 20), and the one-line error when it is older. */
import { UserError } from "./errors.ts";

/** A minimum Node.js version ([major, minor]) and, for the message, who needs it. */
export interface NodeRequirement {
  node: readonly [number, number];
  by?: string;
}

/** @kubernetes/client-node's HTTP library (undici 8) needs Node.js 22.19. */
export const kubernetesClient: NodeRequirement = { node: [22, 19] };

/** Throws UserError (one line: what needs which Node, how to get it) when `version` is older than `needs`. */
export function checkNodeVersion(subject: string, needs: NodeRequirement, version = process.versions.node): void {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const [wantMajor, wantMinor] = needs.node;
  if (major > wantMajor || (major === wantMajor && minor >= wantMinor)) return;
  throw new UserError(
    `${subject} needs Node.js ${wantMajor}.${wantMinor} or newer${needs.by ? ` for ${needs.by}` : ""} (this is ${version}): install Node 24 from https://nodejs.org`,
  );
}
