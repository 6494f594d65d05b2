/**
 * Validation of a raw cluster file. Reports every problem at once: zod's type and
 * unknown-key issues, then the cross-field rules. The rules read the raw input
 * defensively (a field of the wrong type is zod's to report), so one bad field never
 * hides another.
 */
import { type ZodType, z } from "zod";
import { isRecord } from "../guards.ts";
import { findCycle } from "../plan/dag.ts";
import { cidrContains, cidrSize, parseCidr, parseIP, parseIPv4, vpnNetwork } from "../cluster/net.ts";
import { builtinChartKeys, builtinGroupNames } from "../services/groups.ts";
import { devicePrivateKeySecret } from "../dashboard/protocol.ts";
import { reservedSecretNames } from "../services/required-secrets.ts";
import { helmCharts, images } from "../services/versions.ts";
import { buildCluster } from "../cluster/model.ts";
import { vpnConfigProblems, vpnPolicyProblems } from "../vpn/validate.ts";
import { parseDate } from "../vpn/expiry.ts";
import { type ClusterConfig, clusterConfigSchema, namespaceKeys } from "./schema.ts";
import { dnsLabel, hasControlCharacter, isDevicePath, isDnsSubdomain } from "./formats.ts";
import { toPlainData } from "./plain.ts";
import { checkReferences } from "./references.ts";
import { type ConfigProblem, type FieldPath, closest, formatPath, showValue } from "./problems.ts";

export type ValidationResult = { ok: true; config: ClusterConfig } | { ok: false; problems: ConfigProblem[] };

/**
 * Validates a raw cluster file value. Pure; never throws, whatever `input` is (cyclic,
 * deeply nested, getters that throw: see `toPlainData`).
 */
export function validateConfig(input: unknown): ValidationResult {
  const plain = toPlainData(input);
  if (plain.problems.length > 0) return { ok: false, problems: sortProblems(plain.problems) };
  const raw = plain.value;
  const parsed = clusterConfigSchema.safeParse(raw, { reportInput: true });
  const problems = parsed.success ? [] : parsed.error.issues.flatMap(fromZodIssue);
  if (isRecord(raw)) problems.push(...crossFieldProblems(raw));
  if (problems.length > 0 || !parsed.success) return { ok: false, problems: sortProblems(problems) };
  // The VPN policy compiles only from a valid file; its rules and vpnTests are checked last.
  const policyProblems = vpnPolicyProblems(buildCluster(parsed.data, "<validate>"));
  if (policyProblems.length > 0) return { ok: false, problems: policyProblems };
  return { ok: true, config: parsed.data };
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${formatPath(p.path)}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---------------------------------------------------------------------------
// zod issues → problems

type Issue = z.core.$ZodIssue;

function fromZodIssue(issue: Issue): ConfigProblem[] {
  const path = issue.path as FieldPath;
  const schema = schemaAt(path);
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = knownKeys(schemaAt(path));
      return issue.keys.map((key) => {
        const suggestion = closest(key, known);
        return {
          path: [...path, key],
          message: "unknown field",
          fix: suggestion
            ? `did you mean "${suggestion}"? Rename it.`
            : `remove it; fields allowed here: ${known.join(", ") || "none"}`,
        };
      });
    }
    case "invalid_type": {
      const received = (issue as { input?: unknown }).input;
      if (received === undefined) {
        return [{ path, message: "is required", fix: `add it${exampleHint(schema)}` }];
      }
      return [
        {
          path,
          message: `must be ${article(issue.expected)}, not ${describeReceived(received)}`,
          fix: `write ${article(issue.expected)}${exampleHint(schema)}`,
        },
      ];
    }
    case "invalid_value":
      return [
        {
          path,
          message: `${showValue((issue as { input?: unknown }).input)} is not allowed`,
          fix: `use one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`,
        },
      ];
    case "too_small":
    case "too_big":
      return [{ path, message: issue.message, fix: "change the value to fit the limit" }];
    default:
      return [{ path, message: issue.message, fix: `correct it${exampleHint(schema)}` }];
  }
}

const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

function describeReceived(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `a list (${v.length} ${v.length === 1 ? "item" : "items"})`;
  if (typeof v === "object") return "an object";
  return `${typeof v} ${showValue(v)}`;
}

/** Follows a path through the zod schema (objects, records, arrays, wrappers). */
function schemaAt(path: FieldPath): ZodType | undefined {
  let s: ZodType | undefined = clusterConfigSchema;
  for (const part of path) {
    s = unwrap(s);
    if (!s) return undefined;
    const def = (s as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (def.type === "object") s = (def.shape as Record<string, ZodType>)[String(part)];
    else if (def.type === "record") s = def.valueType as ZodType;
    else if (def.type === "array") s = def.element as ZodType;
    else return undefined;
  }
  return s;
}

function unwrap(s: ZodType | undefined): ZodType | undefined {
  let cur = s;
  for (let i = 0; cur && i < 10; i++) {
    const def = (cur as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (def.type === "optional" || def.type === "default" || def.type === "nullable" || def.type === "prefault")
      cur = def.innerType as ZodType;
    else break;
  }
  return cur;
}

function knownKeys(s: ZodType | undefined): string[] {
  const u = unwrap(s);
  if (!u) return [];
  const def = (u as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  return def.type === "object" ? Object.keys(def.shape as object).filter((k) => k !== "$schema") : [];
}

function exampleHint(s: ZodType | undefined): string {
  if (!s) return "";
  const meta = z.globalRegistry.get(s) as { examples?: unknown[] } | undefined;
  const example = meta?.examples?.[0];
  return example === undefined ? "" : `, e.g. ${JSON.stringify(example)}`;
}

// ---------------------------------------------------------------------------
// cross-field rules

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** A node's address: an IP, or a DNS name of dot-separated labels. */
const isNodeAddress = (text: string): boolean => parseIP(text) !== null || isDnsSubdomain(text);
/** VPN user names become ConfigMap keys, Caddy matchers, file and Kubernetes names. */
const vpnUserName = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const secretName = /^[A-Za-z0-9_]{1,128}$/;
const unixUser = /^[a-z_][a-z0-9_-]{0,31}$/;
const tagName = /^[A-Za-z0-9_-]{1,63}$/;
const sizeText = /^([1-9][0-9]*)([KMGT])$/;
const nextcloudUid = /^[A-Za-z0-9_.@-]{1,64}$/;
const email = /^[^\s@"'<>]+@[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i;

function crossFieldProblems(raw: Record<string, unknown>): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const add = (path: FieldPath, message: string, fix: string) => out.push({ path, message, fix });

  const username = str(raw.username);
  if (username !== undefined && (!unixUser.test(username) || username === "root")) {
    add(
      ["username"],
      `${showValue(username)} is not a usable login name`,
      'use lowercase letters, digits, "_" or "-" (not root), e.g. "alice"',
    );
  }
  const timezone = str(raw.timezone);
  if (timezone !== undefined && !isTimeZone(timezone)) {
    add(["timezone"], `${showValue(timezone)} is not an IANA time zone`, 'use a name like "Europe/Berlin" or "UTC"');
  }
  const sshKey = str(raw.clusterSshKey);
  if (sshKey !== undefined && !isSshPublicKey(sshKey)) {
    add(
      ["clusterSshKey"],
      "is not an SSH public key",
      'paste one line of ~/.ssh/id_ed25519.pub ("ssh-ed25519 AAAA… comment")',
    );
  }

  checkNodes(raw.nodes, add);
  const domain = str(raw.domain);
  if (domain !== undefined && !isDomain(domain)) {
    add(
      ["domain"],
      `${showValue(domain)} is not a valid domain name`,
      'use a lowercase DNS name with at least two labels, e.g. "home.example.com"',
    );
  }
  const acmeEmail = str(raw.acmeEmail);
  if (acmeEmail !== undefined && (!email.test(acmeEmail) || hasControlCharacter(acmeEmail))) {
    add(["acmeEmail"], `${showValue(acmeEmail)} is not an email address`, 'write an address like "admin@example.com"');
  }
  checkAddresses(raw, add);
  checkVpnUsers(raw.wireguardUsers, add);
  checkOverrides(raw, add);
  checkReferences(raw, add);
  out.push(...vpnConfigProblems(raw));
  return out;
}

type Add = (path: FieldPath, message: string, fix: string) => void;

/** ICU's canonical zone names: a look-up, where a DateTimeFormat costs ~25 ms the first time. */
let canonicalTimeZones: ReadonlySet<string> | undefined;

function isTimeZone(tz: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(tz)) return false;
  canonicalTimeZones ??= new Set(["UTC", ...Intl.supportedValuesOf("timeZone")]);
  if (canonicalTimeZones.has(tz)) return true;
  // Aliases (Asia/Kolkata, Etc/UTC, US/Pacific): only ICU's formatter knows them all.
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const sshKeyTypes = [
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
];

/** An OpenSSH public key line whose base64 blob names the same key type. */
function isSshPublicKey(line: string): boolean {
  // A control character (a newline above all) would add lines to authorized_keys.
  if (hasControlCharacter(line)) return false;
  const [type, blob] = line.trim().split(/\s+/);
  if (!type || !blob || !sshKeyTypes.includes(type) || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return false;
  const bytes = Buffer.from(blob, "base64");
  if (bytes.length < 4) return false;
  const len = bytes.readUInt32BE(0);
  return bytes.subarray(4, 4 + len).toString("latin1") === type;
}

function isDomain(d: string): boolean {
  if (d.length > 253) return false;
  const labels = d.split(".");
  return labels.length >= 2 && labels.every((l) => dnsLabel.test(l)) && !/^[0-9]+$/.test(labels.at(-1)!);
}

function checkNodes(nodes: unknown, add: Add): void {
  if (!isRecord(nodes)) return;
  const names = Object.keys(nodes);
  if (names.length === 0) {
    add(["nodes"], "has no node", "add at least one node with master: true");
    return;
  }
  const masters: string[] = [];
  const hostnames = new Map<string, string>();
  for (const name of names) {
    const node = nodes[name];
    if (!dnsLabel.test(name)) {
      add(
        ["nodes", name],
        "node name is not usable as a file and attribute name",
        'use lowercase letters, digits and "-", e.g. "node1"',
      );
    }
    if (!isRecord(node)) continue;
    if (node.master === true) masters.push(name);
    const hostname = str(node.hostname);
    if (hostname !== undefined) {
      if (!dnsLabel.test(hostname)) {
        add(
          ["nodes", name, "hostname"],
          `${showValue(hostname)} is not a valid hostname`,
          'use 1–63 lowercase letters, digits and "-" (no dots), e.g. "node1"',
        );
      } else if (hostnames.has(hostname)) {
        add(
          ["nodes", name, "hostname"],
          `${showValue(hostname)} is already the hostname of node "${hostnames.get(hostname)}"`,
          "give every node its own hostname",
        );
      } else hostnames.set(hostname, name);
    }
    const address = str(node.address);
    if (address !== undefined && !isNodeAddress(address)) {
      add(
        ["nodes", name, "address"],
        `${showValue(address)} is not an address`,
        'use an IPv4 or IPv6 address or a DNS name, e.g. "192.168.1.10" or "node1.lan"',
      );
    }
    const disk = str(node.disk);
    if (disk !== undefined && !isDevicePath(disk)) {
      add(
        ["nodes", name, "disk"],
        `${showValue(disk)} is not a device path`,
        'use the whole disk\'s normalised path under /dev (no "..", "." or "//"), e.g. "/dev/sda", "/dev/nvme0n1" or "/dev/disk/by-id/…"',
      );
    }
    const esp = str(node.espSize);
    if (esp !== undefined) {
      const m = sizeText.exec(esp);
      const mib = m ? Number(m[1]) * { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[m[2] as "K"] : 0;
      if (!m)
        add(
          ["nodes", name, "espSize"],
          `${showValue(esp)} is not a size`,
          'write a number and K, M, G or T, e.g. "500M" or "1G"',
        );
      else if (mib < 64 || mib > 8192)
        add(
          ["nodes", name, "espSize"],
          `${esp} is not a sensible EFI partition size`,
          'use between 64M and 8G; "500M" is the default',
        );
    }
    if (Array.isArray(node.tags)) {
      node.tags.forEach((tag, i) => {
        if (typeof tag === "string" && !tagName.test(tag)) {
          add(
            ["nodes", name, "tags", i],
            `${showValue(tag)} is not a usable tag`,
            'use letters, digits, "_" and "-" (select with --on @tag)',
          );
        }
      });
    }
  }
  if (masters.length === 0) {
    add(["nodes"], "no node has master: true", `set master: true on exactly one node (e.g. nodes.${names[0]}.master)`);
  }
  for (const extra of masters.slice(1)) {
    add(
      ["nodes", extra, "master"],
      `is a second master (nodes.${masters[0]} is already the master)`,
      "set master: true on exactly one node",
    );
  }
}

function checkAddresses(raw: Record<string, unknown>, add: Add): void {
  const poolText = str(raw.metallbPool);
  const pool = poolText === undefined ? null : parseCidr(poolText);
  if (poolText !== undefined) {
    if (pool?.address.kind() !== "ipv4") {
      add(["metallbPool"], `${showValue(poolText)} is not an IPv4 CIDR`, 'write a LAN range like "192.168.1.192/26"');
    } else if (pool.hostBitsSet) {
      add(["metallbPool"], `${poolText} has host bits set`, `write the network address: "${pool.text}"`);
    } else if (cidrSize(pool) < 3) {
      add(
        ["metallbPool"],
        `${poolText} has room for fewer than the 3 service addresses`,
        "use a larger range, e.g. a /28 or /26",
      );
    }
  }
  const seen = new Map<string, string>();
  for (const field of ["piholeIp", "wireguardIp", "nginxIp"] as const) {
    const text = str(raw[field]);
    if (text === undefined) continue;
    const ip = parseIPv4(text);
    if (!ip) {
      add(
        [field],
        `${showValue(text)} is not an IPv4 address`,
        'write an address like "192.168.1.250" inside metallbPool',
      );
      continue;
    }
    if (pool && !pool.hostBitsSet && pool.address.kind() === "ipv4" && !cidrContains(pool, ip)) {
      add(
        [field],
        `${text} is outside metallbPool ${poolText}`,
        "pick an address inside metallbPool, or widen the pool",
      );
    }
    const other = seen.get(ip.toString());
    if (other) add([field], `${text} is also ${other}`, "give each service its own address");
    else seen.set(ip.toString(), field);
  }
  const upstream = str(raw.upstreamDns);
  if (upstream !== undefined) {
    const ip = parseIP(upstream);
    if (!ip)
      add(
        ["upstreamDns"],
        `${showValue(upstream)} is not an IP address`,
        "write your router's or resolver's address, e.g. \"192.168.1.1\"",
      );
    else if (pool && !pool.hostBitsSet && cidrContains(pool, ip)) {
      add(
        ["upstreamDns"],
        `${upstream} is inside metallbPool, so MetalLB may hand it to a service`,
        "use a resolver outside metallbPool (usually the router)",
      );
    }
  }
}

function checkVpnUsers(users: unknown, add: Add): void {
  if (!isRecord(users)) return;
  const vpn = parseCidr(vpnNetwork.subnet)!;
  const ips = new Map<string, string>();
  const secrets = new Map<string, string>();
  /** allowedIPs values already checked: their parts that are not CIDRs or addresses. */
  const badAllowedIPs = new Map<string, string[]>();
  for (const name of Object.keys(users)) {
    const user = users[name];
    const at = (field: string): FieldPath => ["wireguardUsers", name, field];
    if (!vpnUserName.test(name)) {
      add(
        ["wireguardUsers", name],
        "user name is not usable in the generated files",
        'use 1–32 lowercase letters, digits and "-", starting and ending with a letter or digit, e.g. "alice" or "dave-laptop"',
      );
    }
    if (!isRecord(user)) continue;
    const enabled = user.enabled !== false;
    const ipText = str(user.ip);
    if (ipText !== undefined) {
      const ip = parseIPv4(ipText);
      const last = ip ? ip.octets[3]! : -1;
      if (!ip || !cidrContains(vpn, ip)) {
        add(
          at("ip"),
          `${showValue(ipText)} is not an address in the VPN subnet ${vpnNetwork.subnet}`,
          'use 10.0.100.2 to 10.0.100.254, e.g. "10.0.100.2"',
        );
      } else if (last === 0 || last === 1 || last === 255) {
        add(
          at("ip"),
          `${ipText} is reserved (${last === 1 ? "the VPN server" : last === 0 ? "the network" : "broadcast"})`,
          "use 10.0.100.2 to 10.0.100.254",
        );
      } else if (enabled) {
        const other = ips.get(ipText);
        if (other)
          add(at("ip"), `${ipText} is already the address of "${other}"`, "give every enabled user their own address");
        else ips.set(ipText, name);
      }
    }
    const secret = str(user.publicKeySecret);
    if (secret !== undefined) {
      if (!secretName.test(secret)) {
        add(
          at("publicKeySecret"),
          `${showValue(secret)} is not a usable secret name`,
          `use letters, digits and "_", e.g. "${name.replaceAll("-", "_")}_wg_public_key"`,
        );
      } else if (reservedSecretNames.includes(secret)) {
        add(
          at("publicKeySecret"),
          `"${secret}" is one of the cluster's own secrets`,
          `use a per-user name, e.g. "${name.replaceAll("-", "_")}_wg_public_key"`,
        );
      } else {
        const other = secrets.get(secret);
        if (other)
          add(
            at("publicKeySecret"),
            `"${secret}" is already the key secret of "${other}"`,
            "give every user their own secret name",
          );
        else secrets.set(secret, name);
      }
    }
    const allowed = str(user.allowedIPs);
    if (allowed !== undefined) {
      // Users share a few allowedIPs values: each is parsed once.
      let bad = badAllowedIPs.get(allowed);
      if (!bad) {
        const parts = allowed.split(",").map((s) => s.trim());
        const cidrOk = (p: string) => {
          const cidr = parseCidr(p);
          return !!cidr && !cidr.hostBitsSet;
        };
        // An empty part is never a CIDR: an empty list is reported too.
        bad = parts.filter((p) => !cidrOk(p) && !parseIP(p));
        badAllowedIPs.set(allowed, bad);
      }
      if (bad.length > 0) {
        add(
          at("allowedIPs"),
          `${showValue(bad.join(", ") || allowed)} is not a comma-separated list of CIDRs`,
          'write e.g. "0.0.0.0/0" (all traffic) or "192.168.1.0/24, 10.0.100.0/24" (split tunnel)',
        );
      }
    }
    const description = str(user.description);
    if (description !== undefined && hasControlCharacter(description)) {
      add(
        at("description"),
        "contains a control character (it is printed to terminals)",
        "write plain text on one line",
      );
    }
    const expires = str(user.expires);
    if (expires !== undefined && !parseDate(expires)) {
      add(
        at("expires"),
        `${showValue(expires)} is not a date`,
        'write the last day the peer may connect as YYYY-MM-DD, e.g. "2026-12-31"',
      );
    }
    const nc = str(user.nextcloudUser);
    if (nc !== undefined && !nextcloudUid.test(nc)) {
      add(
        at("nextcloudUser"),
        `${showValue(nc)} is not a Nextcloud user id`,
        'use letters, digits, "_", ".", "@" and "-"',
      );
    }
  }
  checkDeviceKeySecrets(users, secrets, add);
}

/** A shared device's private key secret (<name>_wg_private_key) must not be another user's public key secret. */
function checkDeviceKeySecrets(users: Record<string, unknown>, publicSecrets: Map<string, string>, add: Add): void {
  for (const [name, user] of Object.entries(users)) {
    if (!isRecord(user) || user.dashboardConfig !== true) continue;
    const secret = devicePrivateKeySecret({ name });
    const owner = publicSecrets.get(secret);
    if (owner) {
      add(
        ["wireguardUsers", name, "dashboardConfig"],
        `the dashboard would read ${name}'s private key from secret "${secret}", which is the public key secret of "${owner}"`,
        `rename wireguardUsers.${owner}.publicKeySecret (e.g. "${owner.replaceAll("-", "_")}_wg_public_key")`,
      );
    }
  }
}

function checkOverrides(raw: Record<string, unknown>, add: Add): void {
  if (isRecord(raw.namespaces)) {
    for (const key of namespaceKeys) {
      const ns = str(raw.namespaces[key]);
      if (ns !== undefined && !dnsLabel.test(ns)) {
        add(
          ["namespaces", key],
          `${showValue(ns)} is not a valid namespace name`,
          'use lowercase letters, digits and "-", e.g. "dns-system"',
        );
      }
    }
  }
  if (isRecord(raw.charts)) {
    for (const key of Object.keys(raw.charts)) {
      if (!(key in helmCharts)) {
        const s = closest(key, Object.keys(helmCharts));
        add(
          ["charts", key],
          builtinChartKeys.includes(key) ? "is rendered by nixlab, not a Helm chart" : "is not a chart nixlab installs",
          s ? `did you mean "${s}"?` : `use one of ${Object.keys(helmCharts).join(", ")}`,
        );
      }
    }
  }
  if (isRecord(raw.images)) {
    for (const key of Object.keys(raw.images)) {
      if (!(key in images)) {
        const s = closest(key, Object.keys(images));
        add(
          ["images", key],
          "is not an image nixlab renders",
          s ? `did you mean "${s}"?` : `use one of ${Object.keys(images).join(", ")}`,
        );
      }
    }
  }
  const groups = isRecord(raw.groups) ? raw.groups : {};
  const groupNames = new Set<string>([...builtinGroupNames, ...Object.keys(groups)]);
  for (const name of Object.keys(groups)) {
    if ((builtinGroupNames as readonly string[]).includes(name)) {
      add(["groups", name], "is a built-in group", "pick another name for your group");
    } else if (!dnsLabel.test(name)) {
      add(["groups", name], "group name is not usable", 'use lowercase letters, digits and "-"');
    }
    const g = groups[name];
    if (isRecord(g) && Array.isArray(g.dependsOn)) {
      g.dependsOn.forEach((dep, i) => {
        if (typeof dep === "string" && !groupNames.has(dep)) {
          const s = closest(dep, groupNames);
          add(
            ["groups", name, "dependsOn", i],
            `"${dep}" is not a group`,
            s ? `did you mean "${s}"?` : `use one of ${[...groupNames].join(", ")}`,
          );
        }
      });
    }
  }
  const deps = (g: string): string[] => {
    const v = groups[g];
    return isRecord(v) && Array.isArray(v.dependsOn)
      ? v.dependsOn.filter((d): d is string => typeof d === "string" && d in groups)
      : [];
  };
  const cycle = findCycle(Object.keys(groups), deps);
  if (cycle)
    add(
      ["groups", cycle[0]!, "dependsOn"],
      `groups depend on each other in a cycle: ${cycle.join(" → ")}`,
      "remove one of these dependsOn entries",
    );

  if (isRecord(raw.services)) {
    for (const name of Object.keys(raw.services)) {
      const svc = raw.services[name];
      if (builtinChartKeys.includes(name))
        add(["services", name], "is the name of a built-in chart", "pick another name for your service");
      else if (!dnsLabel.test(name))
        add(
          ["services", name],
          "service name is not usable as a file and release name",
          'use lowercase letters, digits and "-"',
        );
      if (!isRecord(svc)) continue;
      const group = str(svc.group);
      if (group !== undefined && !groupNames.has(group)) {
        const s = closest(group, groupNames);
        add(
          ["services", name, "group"],
          `"${group}" is not a group`,
          s ? `did you mean "${s}"?` : "add it under groups, or use a built-in group",
        );
      }
      const ns = str(svc.namespace);
      if (ns !== undefined && !dnsLabel.test(ns))
        add(
          ["services", name, "namespace"],
          `${showValue(ns)} is not a valid namespace name`,
          'use lowercase letters, digits and "-"',
        );
      if ((svc.helm === undefined) === (svc.manifests === undefined)) {
        add(
          ["services", name],
          "needs exactly one of helm or manifests",
          "give either a helm chart (repo, chart, version, values) or a list of manifests",
        );
      }
      if (Array.isArray(svc.manifests)) {
        svc.manifests.forEach((obj, i) => {
          const meta = isRecord(obj) && isRecord(obj.metadata) ? obj.metadata : undefined;
          if (!isRecord(obj) || !str(obj.apiVersion) || !str(obj.kind) || !meta || !str(meta.name)) {
            add(
              ["services", name, "manifests", i],
              "is not a Kubernetes object",
              "give it apiVersion, kind and metadata.name",
            );
          }
        });
      }
    }
  }
}
