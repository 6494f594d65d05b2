/**
 * A node's own keys, made on the admin's machine before the node first boots: an age
 * identity (what sops-nix decrypts with) and an ed25519 SSH host key (so the node's
 * fingerprint is known before anyone connects). Kept in memory only; `nodes install`
 * streams them to the node's /persist.
 */
import { generateKeyPairSync } from "node:crypto";
import sshpk from "sshpk";
import { type AgeIdentity, generateAgeKey } from "../secrets/age.ts";

export interface NodeKeys {
  age: AgeIdentity & { fileText: string };
  ssh: {
    /** OpenSSH private key file text (openssh-key-v1, unencrypted: sshd reads it at boot). */
    privateKey: string;
    /** `ssh-ed25519 AAAA… root@<hostname>` */
    publicKey: string;
    /** SHA256:… as ssh-keygen -l prints it. */
    fingerprint: string;
  };
}

/** A new ed25519 SSH key pair in OpenSSH's file formats, like `ssh-keygen -t ed25519 -N "" -C comment`. */
export function newSshKeyPair(comment: string): NodeKeys["ssh"] {
  const { privateKey } = generateKeyPairSync("ed25519");
  const key = sshpk.parsePrivateKey(privateKey.export({ type: "pkcs8", format: "pem" }), "pkcs8");
  key.comment = comment;
  return {
    privateKey: key.toString("openssh"),
    publicKey: `${key.toPublic().toString("ssh")}\n`,
    fingerprint: key.fingerprint("sha256").toString(),
  };
}

/** New keys for node `hostname`. */
export async function generateNodeKeys(hostname: string): Promise<NodeKeys> {
  const age = await generateAgeKey();
  return {
    age: { secret: age.secret, recipient: age.recipient, source: `${hostname}'s new age key`, fileText: age.fileText },
    ssh: newSshKeyPair(`root@${hostname}`),
  };
}
