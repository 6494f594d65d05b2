/** The VPN policy model: destination syntax, the compiler, the evaluator, vpnTests, warnings, and the nft ruleset (loaded by real nft). */
import { describe, expect, it } from "vitest";
import { clusterFirewall } from "../../src/services/vpn/firewall.ts";
import { isSyntaxProblem, parseDestination } from "../../src/vpn/groups.ts";
import { compilePolicy, decide, decideRegion, runVpnTests } from "../../src/vpn/policy.ts";
import { cidrRange, ipToNumber, rangeTexts, subtract, toCidrs } from "../../src/vpn/ranges.ts";
import { vpnWarnings } from "../../src/vpn/validate.ts";
import { exampleCluster } from "../support/example.ts";
import { createLab, labUnavailable } from "../support/netns.ts";
import { requireTool } from "../support/peers.ts";

const ip = (text: string) => ipToNumber(text)!;
type Packet = Parameters<typeof decide>[2];
const tcp = (address: string, port: number): Packet => ({ address: ip(address), protocol: "tcp", port });
const udp = (address: string, port: number): Packet => ({ address: ip(address), protocol: "udp", port });

describe("destination syntax DEST[:PORTS][/PROTOCOL]", () => {
  it("parses names, addresses, CIDRs, port lists and protocols", () => {
    expect(parseDestination("pihole:53")).toMatchObject({
      target: { name: "pihole" },
      ports: [{ from: 53, to: 53 }],
      protocol: null,
    });
    expect(parseDestination("ingress:80,443,3000-3010/tcp")).toMatchObject({
      ports: [
        { from: 80, to: 80 },
        { from: 443, to: 443 },
        { from: 3000, to: 3010 },
      ],
      protocol: "tcp",
    });
    expect(parseDestination("10.0.0.0/8/udp")).toMatchObject({ target: { cidr: "10.0.0.0/8" }, protocol: "udp" });
    expect(parseDestination("192.168.1.10:22")).toMatchObject({ target: { cidr: "192.168.1.10/32" } });
    expect(parseDestination("lan/icmp")).toMatchObject({ protocol: "icmp", ports: null });
  });

  it("explains what is wrong and how to write it", () => {
    const problem = (text: string) => {
      const r = parseDestination(text);
      if (!isSyntaxProblem(r)) throw new Error(`${text} parsed`);
      return `${r.message} | ${r.fix}`;
    };
    expect(problem("192.168.1.100/28")).toContain('write "192.168.1.96/28" for the whole network, or "192.168.1.100"');
    expect(problem("printer")).toContain('"printer" is not a destination name');
    expect(problem("lan:22/icmp")).toContain("ICMP has no ports");
    expect(problem("lan:0")).toContain("is not a port list");
    expect(problem("lan:70000")).toContain("is not a port list");
    expect(problem("lan/gre")).toContain('"gre" is not a protocol');
    expect(problem("300.1.1.1")).toContain("is not an IPv4 address or CIDR");
  });
});

describe("address ranges", () => {
  it("subtracts, and prints CIDRs and nft elements exactly", () => {
    const all = [cidrRange("0.0.0.0/0")!];
    const rest = subtract(all, [cidrRange("10.0.0.0/8")!]);
    expect(toCidrs(rest)).toEqual([
      "0.0.0.0/5",
      "8.0.0.0/7",
      "11.0.0.0/8",
      "12.0.0.0/6",
      "16.0.0.0/4",
      "32.0.0.0/3",
      "64.0.0.0/2",
      "128.0.0.0/1",
    ]);
    expect(rangeTexts(rest)).toEqual(["0.0.0.0-9.255.255.255", "11.0.0.0-255.255.255.255"]);
    expect(rangeTexts([cidrRange("10.0.100.1")!])).toEqual(["10.0.100.1"]);
  });
});

describe("the compiled policy", () => {
  const cluster = exampleCluster((v) => {
    v.vpnGroups = {
      kids: {
        description: "internet and the LAN's printer, but no SSH anywhere",
        allow: ["internet", "lan"],
        deny: ["lan:22/tcp", "internet:22/tcp"],
      },
      wide: { allow: ["10.0.0.0/8", "10.42.7.0/24:80"] },
    };
    v.wireguardUsers.dave = { ip: "10.0.100.9", publicKeySecret: "dave_key", group: "kids" };
  });
  const policy = compilePolicy(cluster);

  it("settles the built-in groups: admin everything but the cluster's networks, guests the internet only", () => {
    const admin = (p: Packet) => decide(policy, "admin", p).action;
    expect(admin(tcp("192.168.1.10", 22))).toBe("accept");
    expect(admin(tcp("8.8.8.8", 443))).toBe("accept");
    expect(admin(tcp("10.0.100.4", 80))).toBe("accept"); // other peers
    expect(admin(tcp("10.42.0.5", 80))).toBe("drop"); // the pod network: only `cluster` reaches it
    expect(admin(tcp("10.43.0.1", 443))).toBe("drop");
    expect(admin(tcp("10.0.100.1", 9153))).toBe("drop"); // the pod itself: DNS and sign-in only
    const guest = (p: Packet) => decide(policy, "guests", p);
    expect(guest(tcp("1.1.1.1", 443)).action).toBe("accept");
    expect(guest(tcp("192.168.1.250", 80))).toEqual({
      action: "drop",
      rule: "default: no rule of group guests allows it",
    });
    expect(guest(udp("10.0.100.1", 53))).toEqual({ action: "accept", rule: "always: the VPN's DNS" });
    expect(guest(tcp("10.0.100.1", 443)).action).toBe("drop");
    // The internet is not the LAN, private, shared or reserved space.
    for (const a of ["192.168.1.10", "172.16.0.1", "100.64.0.1", "169.254.1.1", "224.0.0.1", "127.0.0.1"])
      expect(guest(tcp(a, 80)).action, a).toBe("drop");
    // Family uses the DNS the seed's family blocked (services.md §8.2): the VPN's, and Pi-hole.
    expect(decide(policy, "family", udp("192.168.1.250", 53)).action).toBe("accept");
  });

  it("lets deny win over allow, naming the rule", () => {
    expect(decide(policy, "kids", tcp("192.168.1.10", 22))).toEqual({
      action: "drop",
      rule: 'vpnGroups.kids.deny[0] "lan:22/tcp"',
    });
    expect(decide(policy, "kids", udp("192.168.1.10", 22)).rule).toBe('vpnGroups.kids.allow[1] "lan"');
    expect(decide(policy, "kids", tcp("93.184.216.34", 22)).action).toBe("drop");
    expect(decide(policy, "kids", tcp("93.184.216.34", 443)).action).toBe("accept");
  });

  it("keeps wide CIDRs out of the pod, service and VPN networks unless a CIDR inside them is named", () => {
    expect(decide(policy, "wide", tcp("10.1.2.3", 80)).action).toBe("accept");
    expect(decide(policy, "wide", tcp("10.42.0.5", 80)).action).toBe("drop");
    expect(decide(policy, "wide", tcp("10.0.100.2", 80)).action).toBe("drop");
    expect(decide(policy, "wide", tcp("10.42.7.9", 80)).rule).toBe('vpnGroups.wide.allow[1] "10.42.7.0/24:80"');
    expect(decide(policy, "wide", tcp("10.42.7.9", 81)).action).toBe("drop");
  });

  it("decides whole destinations: allow, deny, or partial with the parts spelled out", () => {
    expect(decideRegion(policy, "family", policy.destinations.lan).verdict).toBe("allow");
    expect(decideRegion(policy, "guests", policy.destinations.cluster).verdict).toBe("deny");
    const friends = decideRegion(policy, "friends", policy.destinations.ingress);
    expect(friends.verdict).toBe("partial");
    expect(friends.parts.filter((p) => p.action === "accept")).toEqual([
      {
        action: "accept",
        rule: 'built-in friends.allow[1] "ingress:80,443/tcp"',
        addresses: ["192.168.1.193/32"],
        protocols: ["tcp"],
        ports: "80,443",
      },
    ]);
  });

  it("assigns users without a group to guests, and warns about it and other surprises", () => {
    const c = exampleCluster((v) => {
      delete v.wireguardUsers.carol.group;
      delete v.lanCidr;
      v.wireguardUsers.fred = {
        ip: "10.0.100.8",
        publicKeySecret: "fred_key",
        group: "friends",
        nextcloudUser: "fred",
      };
      v.wireguardUsers.gus = { ip: "10.0.100.10", publicKeySecret: "gus_key", group: "guests", nextcloudUser: "gus" };
    });
    expect(c.vpn.users.find((u) => u.name === "carol")).toMatchObject({ group: "guests", groupDefaulted: true });
    const warnings = vpnWarnings(c).join("\n");
    expect(warnings).toContain("wireguardUsers.carol has no group, so it is in guests (the internet only)");
    expect(warnings).toContain('lanCidr is not set, so the VPN destination "lan" is 192.168.1.0/24');
    expect(warnings).toContain("wireguardUsers.gus.nextcloudUser is set, but group guests does not reach nextcloud");
    expect(warnings).toContain(
      'wireguardUsers.fred.allowedIPs sends all traffic through the VPN, but group friends does not reach the internet, so fred has no internet while connected; set allowedIPs to what the group reaches: "10.0.100.1/32, 192.168.1.193/32"',
    );
  });

  it("runs vpnTests against the same policy", () => {
    const c = exampleCluster((v) => {
      v.wireguardUsers.bob.enabled = false;
    });
    // Set after validation, which would reject the failing one.
    c.config.vpnTests = [
      { from: "carol", to: "nextcloud", expect: "deny" },
      { from: "alice", to: "cluster", expect: "allow" },
      { from: "friends", to: "ingress:443/tcp", expect: "allow" },
      { from: "bob", to: "lan", expect: "deny" },
    ];
    expect(runVpnTests(c, compilePolicy(c)).map((t) => [t.passed, t.outcome.verdict])).toEqual([
      [true, "deny"],
      [false, "deny"],
      [true, "allow"],
      [true, "deny"], // a disabled user has no peer
    ]);
  });
});

describe("the firewall ruleset", () => {
  it("orders each group's deny rules before its allow rules and names them", () => {
    const text = clusterFirewall(
      exampleCluster((v) => {
        v.vpnGroups = { family: { allow: ["lan", "internet"], deny: ["192.168.1.1:22,80/tcp"] } };
        v.vpnTests = [];
      }),
    );
    const chain = text.slice(text.indexOf("chain group_family {"));
    expect(chain.split("\n").slice(1, 4)).toEqual([
      '\t\tip daddr 192.168.1.1 tcp dport { 22, 80 } drop comment "vpnGroups.family.deny[0] 192.168.1.1:22,80/tcp"',
      '\t\tip daddr 192.168.1.0/24 accept comment "vpnGroups.family.allow[0] lan"',
      expect.stringMatching(
        /^\t\tip daddr \{ 1\.0\.0\.0-9\.255\.255\.255, .* \} accept comment "vpnGroups\.family\.allow\[1\] internet"$/,
      ),
    ]);
    expect(text).toContain('\t\tiifname "wg0" jump from_vpn\n\t\toifname "wg0" ct state established,related accept');
    expect(text).toContain("type filter hook forward priority filter; policy drop;");
  });

  it("loads into the real nft, twice (a restart replaces it atomically), with every rule form", async (ctx) => {
    const nft = requireTool("nft", ctx);
    const reason = labUnavailable();
    if (reason) {
      if (process.env.NIXLAB_E2E === "1") throw new Error(reason);
      return ctx.skip(reason);
    }
    const text = clusterFirewall(
      exampleCluster((v) => {
        v.vpnGroups = {
          "all-forms": {
            allow: [
              "any",
              "vpn",
              "cluster",
              "pihole:53",
              "ingress:80,443/tcp",
              "lan/icmp",
              "10.42.3.0/24:8000-8100/udp",
            ],
            deny: ["internet:25", "192.168.1.1"],
          },
          empty: {},
        };
        v.wireguardUsers.zed = { ip: "10.0.100.20", publicKeySecret: "zed_key", group: "all-forms" };
      }),
    );
    const lab = await createLab("vpns");
    try {
      const ns = await lab.namespace("nft");
      for (let i = 0; i < 2; i++) await ns.run(nft, ["-f", "/dev/stdin"], { input: text });
      const listed = (await ns.run(nft, ["list", "table", "inet", "nixlab_vpn"])).stdout;
      expect(listed).toContain("chain group_all_forms");
      expect(listed).toContain("udp dport 8000-8100 accept");
      expect(listed.match(/chain group_all_forms/g)).toHaveLength(1);
    } finally {
      await lab.close();
    }
  });
});
