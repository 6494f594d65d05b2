// The DDNS job's program (defect 27: validates the IP, finds the zone of a sub-domain,
// fails loudly). Python from the standard library only; tested against a fake API.
export const ddnsScript = `"""Cloudflare DDNS for nixlab: point A records at this network's public IPv4.

Environment: DDNS_ZONE_HINT (the cluster domain), DDNS_RECORDS (comma-separated
names), DDNS_TOKEN_FILE, optional DDNS_API (Cloudflare API base) and DDNS_IP_URL.
Exits non-zero when any record could not be brought up to date.
"""
import ipaddress
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

API = os.environ.get("DDNS_API", "https://api.cloudflare.com/client/v4").rstrip("/")
IP_URL = os.environ.get("DDNS_IP_URL", "https://api.ipify.org")
TIMEOUT = 20


class DdnsError(Exception):
    pass


def request(method, path, token, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(API + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            payload = json.load(resp)
    except urllib.error.HTTPError as err:
        raise DdnsError(f"{method} {path}: HTTP {err.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise DdnsError(f"{method} {path}: {err}") from None
    if not payload.get("success"):
        messages = "; ".join(e.get("message", "?") for e in payload.get("errors", [])) or "no detail"
        raise DdnsError(f"{method} {path}: Cloudflare refused: {messages}")
    return payload.get("result")


def public_ipv4():
    try:
        with urllib.request.urlopen(IP_URL, timeout=TIMEOUT) as resp:
            text = resp.read(64).decode("ascii", "replace").strip()
    except (urllib.error.URLError, OSError) as err:
        raise DdnsError(f"could not learn the public IP from {IP_URL}: {err}") from None
    try:
        ip = ipaddress.IPv4Address(text)
    except ValueError:
        raise DdnsError(f"{IP_URL} answered {text[:40]!r}, not an IPv4 address") from None
    if not ip.is_global:
        raise DdnsError(f"{IP_URL} answered {ip}, which is not a public address")
    return str(ip)


def find_zone(name, token):
    """The Cloudflare zone holding name: tries name, then each parent domain."""
    labels = name.split(".")
    for i in range(len(labels) - 1):
        candidate = ".".join(labels[i:])
        zones = request("GET", "/zones?" + urllib.parse.urlencode({"name": candidate}), token)
        if zones:
            return zones[0]["id"], candidate
    raise DdnsError(f"no Cloudflare zone found for {name} (is the token allowed to read it?)")


def update(zone_id, record, ip, token):
    query = urllib.parse.urlencode({"type": "A", "name": record})
    existing = request("GET", f"/zones/{zone_id}/dns_records?{query}", token) or []
    if existing and existing[0].get("content") == ip:
        print(f"IP unchanged for {record}: {ip}")
        return
    body = {"type": "A", "name": record, "content": ip, "ttl": 60, "proxied": False}
    if existing:
        request("PATCH", f"/zones/{zone_id}/dns_records/{existing[0]['id']}", token, body)
    else:
        request("POST", f"/zones/{zone_id}/dns_records", token, body)
    print(f"Updated {record} to {ip}")


def main():
    with open(os.environ["DDNS_TOKEN_FILE"], encoding="utf-8") as f:
        token = f.read().strip()
    if not token:
        print("error: the Cloudflare token file is empty", file=sys.stderr)
        return 1
    records = [r.strip() for r in os.environ["DDNS_RECORDS"].split(",") if r.strip()]
    failed = 0
    try:
        ip = public_ipv4()
        print(f"Current public IP: {ip}")
        zone_id, zone = find_zone(os.environ["DDNS_ZONE_HINT"], token)
        print(f"Zone: {zone}")
    except DdnsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for record in records:
        try:
            update(zone_id, record, ip, token)
        except DdnsError as err:
            failed += 1
            print(f"error: {record}: {err}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
`;
