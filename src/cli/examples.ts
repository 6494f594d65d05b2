/**
 * The examples at the end of every command's --help, kept in one place so they read as
 * one vocabulary (docs/cli.md). Keyed by command path ("secrets set"); each is a
 * command line a user can run as it is, with a comment saying what it does. A test
 * parses every example against the command tree (its command and flags exist).
 */
import type { Command } from "commander";
import { commandPath } from "../completion/complete.ts";

/** An example: what it does, then the command line. */
export type Example = readonly [comment: string, line: string];

export const commandExamples: Readonly<Record<string, readonly Example[]>> = {
  "": [
    ["Start a cluster in a new directory: answer the questions", "nixlab init homelab"],
    ["Check everything a deploy needs, with a fix for each problem", "nixlab doctor"],
    ["Render the build directory, then deploy it", "nixlab build && nixlab deploy"],
  ],
  init: [
    ["Answer the questions (a terminal): domain, LAN, nodes, VPN users, passwords", "nixlab init homelab"],
    [
      "The same without questions, for scripts (the password from stdin)",
      "nixlab init homelab --yes --domain home.example.com --node node1:/dev/nvme0n1 --node node2:/dev/sda --vpn-user alice:admin --password-file -",
    ],
    [
      "Keep the age key beside the cluster file instead of ~/.config/sops/age/",
      "nixlab init --age-key-file age-key.txt",
    ],
  ],
  doctor: [
    ["Check this directory's cluster", "nixlab doctor"],
    ["The checks as JSON, for a script", "nixlab doctor -o json"],
    ["Check against another kubeconfig context", "nixlab doctor --kubeconfig ~/.kube/homelab --context default"],
  ],
  check: [
    ["Validate the cluster file in this directory", "nixlab check"],
    ["Validate another file; the summary as JSON", "nixlab check -c ~/homelab/nixlab.yaml -o json"],
  ],
  build: [
    ["Write build/: manifests, deploy plan, flake and node specs", "nixlab build"],
    ["Only the Kubernetes side, into another directory", "nixlab build --no-nodes --out /tmp/k8s"],
    ["What was written, as JSON", "nixlab build -o json"],
  ],
  plan: [
    ["The deploy order: groups by step, with charts and waits", "nixlab plan"],
    ["The whole deploy plan as JSON", "nixlab plan -o json"],
  ],
  graph: [
    ["The groups DAG as Mermaid (paste it into a Markdown file)", "nixlab graph"],
    ["As Graphviz, drawn to an SVG", "nixlab graph -o dot | dot -Tsvg > groups.svg"],
    ["Which cluster-file fields reach which outputs", "nixlab graph --flow"],
  ],
  import: [
    ["Turn a Nix-only nixlab's vars.nix into nixlab.yaml", "nixlab import vars.nix"],
    ["Into typed TypeScript instead", "nixlab import vars.nix --to nixlab.config.ts"],
  ],
  secrets: [
    ["List the secret names (never values)", "nixlab secrets list"],
    ["Check that every secret the cluster needs is set", "nixlab secrets check"],
    ["Set the Cloudflare token (asked with hidden input)", "nixlab secrets set cloudflare_token"],
  ],
  "secrets init": [
    ["Create the age key, .sops.yaml and secrets.yaml for this cluster file", "nixlab secrets init"],
    ["With the key in a file of your choice", "nixlab secrets init --age-key-file ~/keys/homelab.txt"],
  ],
  "secrets edit": [
    ["Edit the decrypted secrets in $EDITOR", "nixlab secrets edit"],
    ["Edit another secrets file with nano", "EDITOR=nano nixlab secrets edit --secrets secrets.agents.yaml"],
  ],
  "secrets get": [
    ["Print one value", "nixlab secrets get k3s_token"],
    ["Into a variable, exactly", "TOKEN=$(nixlab secrets get cloudflare_token)"],
  ],
  "secrets set": [
    ["Asked with hidden input on a terminal", "nixlab secrets set cloudflare_token"],
    ["From a pipe (a script)", 'printf %s "$CLOUDFLARE_TOKEN" | nixlab secrets set cloudflare_token'],
    ["A multi-line value from a file", "nixlab secrets set private_ssh_key < ~/.ssh/id_ed25519"],
  ],
  "secrets list": [
    ["The secret names of the cluster's file", "nixlab secrets list"],
    ["Of the agents' file", "nixlab secrets list --secrets secrets.agents.yaml"],
  ],
  "secrets check": [
    ["Every secret the cluster needs, set and well-formed?", "nixlab secrets check"],
    ["For another cluster file", "nixlab secrets check -c ~/homelab/nixlab.yaml"],
  ],
  "secrets updatekeys": [
    ["After adding someone's age key to .sops.yaml", "nixlab secrets updatekeys"],
    ["For the agents' file", "nixlab secrets updatekeys --secrets secrets.agents.yaml"],
  ],
  "secrets rotate": [
    ["A new data key after removing a recipient", "nixlab secrets rotate"],
    ["For the agents' file", "nixlab secrets rotate --secrets secrets.agents.yaml"],
  ],
  nodes: [
    ["Every node: host, role, tags, disk", "nixlab nodes list"],
    ["Roll the workers' new configurations out, two at a time", "nixlab nodes apply --on @worker --limit 2"],
    ["Install a node booted from the NixOS installer", "nixlab nodes install node2 --target root@nixos.local --yes"],
  ],
  "nodes list": [
    ["Every node as a table", "nixlab nodes list"],
    ["As JSON", "nixlab nodes list -o json"],
  ],
  "nodes apply": [
    ["Every node, health-gated (cordon, drain, switch, Ready, uncordon)", "nixlab nodes apply"],
    ["Only the workers, two at a time", "nixlab nodes apply --on @worker --limit 2"],
    ["Build and activate without making it the boot default", "nixlab nodes apply --on node2 --goal test"],
  ],
  "nodes install": [
    ["What would happen (nothing is touched)", "nixlab nodes install node2 --target root@nixos.local"],
    ["Erase the disk and install", "nixlab nodes install node2 --target root@nixos.local --yes"],
  ],
  deploy: [
    ["Deploy build/ to the cluster of your kubeconfig", "nixlab deploy"],
    ["Only two groups (their dependencies must be ready)", "nixlab deploy --only core-infrastructure core-config"],
    ["With the secret values from the SOPS file, result as JSON", "nixlab deploy --secrets secrets.yaml -o json"],
  ],
  diff: [
    ["What deploy would change (secret values masked)", "nixlab diff"],
    ["Only the VPN group, against another context", "nixlab diff --only vpn-services --context homelab"],
  ],
  status: [
    ["Each group: hash, readiness, drift", "nixlab status"],
    ["From the state dir alone, as JSON", "nixlab status --offline -o json"],
  ],
  dashboard: [
    ["Serve the page on http://127.0.0.1:8080/ and open it in the browser", "nixlab dashboard --open"],
    ["Another port, against another kubeconfig context", "nixlab dashboard --port 9090 --context homelab"],
  ],
  vpn: [
    ["What each access group may reach", "nixlab vpn access"],
    ["Add a user and show the QR code for the phone", "nixlab vpn add grandma --group family"],
  ],
  "vpn access": [
    ["What every group may reach", "nixlab vpn access"],
    ["What one user may reach, as JSON", "nixlab vpn access alice -o json"],
  ],
  "vpn add": [
    ["Add a user; prints the config and its QR code", "nixlab vpn add grandma --group family"],
    [
      "A guest until a date, the QR code into a file",
      "nixlab vpn add guest --group guests --expires 2026-08-31 --to guest.png",
    ],
    [
      "A split tunnel: only the LAN through the VPN",
      "nixlab vpn add laptop --group admin --allowed-ips 192.168.1.0/24",
    ],
  ],
  "vpn list": [
    ["Users, addresses, groups, latest handshakes", "nixlab vpn list"],
    ["Without asking the cluster, as JSON", "nixlab vpn list --offline -o json"],
  ],
  "vpn show": [
    ["The config again, with its QR code (a new phone)", "nixlab vpn show grandma --qr"],
    ["Into a file", "nixlab vpn show grandma --to grandma.conf"],
  ],
  "vpn rotate": [
    ["New keys for a lost phone", "nixlab vpn rotate grandma"],
    ["New keys without keeping the private key", "nixlab vpn rotate grandma --no-keep"],
  ],
  "vpn disable": [
    ["Keep the user, drop the peer", "nixlab vpn disable grandma"],
    ["The same for a user in another cluster file", "nixlab vpn disable grandma -c ~/homelab/nixlab.yaml"],
  ],
  "vpn enable": [
    ["Give a disabled user the peer back", "nixlab vpn enable grandma"],
    ["The same for a user in another cluster file", "nixlab vpn enable grandma -c ~/homelab/nixlab.yaml"],
  ],
  "vpn remove": [
    ["Remove a user and its keys (asks first)", "nixlab vpn remove grandma"],
    ["Without asking", "nixlab vpn remove grandma --yes"],
  ],
  completion: [
    ["Completion in this bash", "source <(nixlab completion bash)"],
    ["For every zsh", 'nixlab completion zsh > "${fpath[1]}/_nixlab"'],
    ["For every fish", "nixlab completion fish > ~/.config/fish/completions/nixlab.fish"],
  ],
};

/** The "Examples:" block of `examples`. */
export function formatExamples(examples: readonly Example[]): string {
  return `\nExamples:\n${examples.map(([comment, line]) => `  # ${comment}\n  ${line}\n`).join("\n")}`;
}

/** Adds its examples to the end of the help of `command` and of every command below it. */
export function addExamples(command: Command): void {
  const examples = commandExamples[commandPath(command)];
  if (examples) command.addHelpText("after", formatExamples(examples));
  for (const sub of command.commands) addExamples(sub);
}
