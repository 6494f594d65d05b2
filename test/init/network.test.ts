/** The LAN init sees and the addresses it suggests from it. */
import type { NetworkInterfaceInfo } from "node:os";
import { describe, expect, it } from "vitest";
import { poolAddresses, seenLans, suggestAddresses } from "../../src/init/network.ts";
import { parseNodeFlag, parseVpnUserFlag } from "../../src/init/wizard.ts";

const v4 = (address: string, cidr: string, internal = false): NetworkInterfaceInfo => ({
  address,
  cidr,
  netmask: "",
  family: "IPv4",
  mac: "00:00:00:00:00:00",
  internal,
});

describe("LAN suggestions", () => {
  it("sees private LANs, a real interface before bridges, never loopback or public ranges", () => {
    const lans = seenLans({
      lo: [v4("127.0.0.1", "127.0.0.1/8", true)],
      docker0: [v4("172.17.0.1", "172.17.0.1/16")],
      eth0: [v4("192.0.2.2", "192.0.2.2/24")],
      wlp3s0: [v4("192.168.1.37", "192.168.1.37/24")],
    });
    expect(lans.map((l) => l.cidr)).toEqual(["192.168.1.0/24", "172.17.0.0/16"]);
    expect(lans[0]).toEqual({ cidr: "192.168.1.0/24", address: "192.168.1.37", iface: "wlp3s0" });
  });

  it("puts the MetalLB pool at the top of the LAN, like the example", () => {
    expect(suggestAddresses("192.168.1.0/24")).toEqual({
      metallbPool: "192.168.1.192/26",
      nginxIp: "192.168.1.193",
      wireguardIp: "192.168.1.194",
      piholeIp: "192.168.1.250",
      upstreamDns: "192.168.1.1",
    });
    expect(suggestAddresses("10.20.0.0/16")?.metallbPool).toBe("10.20.255.192/26");
    expect(suggestAddresses("192.168.8.0/25")?.metallbPool).toBe("192.168.8.96/27");
  });

  it("moves the pool down a block when this machine's address is in it", () => {
    expect(suggestAddresses("192.168.1.0/24", "192.168.1.200")?.metallbPool).toBe("192.168.1.128/26");
  });

  it("refuses what is not an IPv4 network it can split", () => {
    expect(suggestAddresses("192.168.1.0")).toBeNull();
    expect(suggestAddresses("192.168.1.0/30")).toBeNull();
    expect(suggestAddresses("fd00::/64")).toBeNull();
    expect(poolAddresses("192.168.1.192/30")).toEqual({});
  });
});

describe("init flags", () => {
  it("--node keeps colons inside the disk path", () => {
    expect(parseNodeFlag("n2:/dev/disk/by-path/pci-0000:00:1f.2-ata-1")).toEqual({
      name: "n2",
      disk: "/dev/disk/by-path/pci-0000:00:1f.2-ata-1",
      master: false,
    });
    expect(parseNodeFlag("n1:/dev/sda:master")).toEqual({ name: "n1", disk: "/dev/sda", master: true });
    expect(() => parseNodeFlag("/dev/sda")).toThrow(/is not NAME:DISK\[:master\]/);
  });

  it("--vpn-user is NAME[:GROUP]", () => {
    expect(parseVpnUserFlag("alice:admin")).toEqual({ name: "alice", group: "admin" });
    expect(parseVpnUserFlag("bob")).toEqual({ name: "bob" });
    expect(() => parseVpnUserFlag("a:b:c")).toThrow(/is not NAME:GROUP/);
  });
});
