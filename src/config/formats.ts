/**
 * The shapes user-written names and references must have to be safe where they land:
 * Kubernetes object names, container image references, chart repositories and
 * versions, device paths. Pure predicates; validate.ts turns a `false` into a problem.
 */
import { posix } from "node:path";

/** RFC 1123 label: Kubernetes namespaces, Service names, label-like names (≤ 63). */
export const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** RFC 1123 subdomain: the names of most Kubernetes objects (≤ 253). */
export function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && name.split(".").every((part) => dnsLabel.test(part));
}

/** C0 and C1 control characters, DEL, and the Unicode line and paragraph separators. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its purpose.
const controlCharacter = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** True when `text` holds a control character (see `controlCharacter`). */
export function hasControlCharacter(text: string): boolean {
  return controlCharacter.test(text);
}

// The reference grammar of the distribution project (what Docker and containerd parse).
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domain = `${domainComponent}(?:\\.${domainComponent})*(?::[0-9]+)?`;
const pathComponent = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const imageName = `(?:${domain}/)?${pathComponent}(?:/${pathComponent})*`;
const imageReference = new RegExp(
  `^(${imageName})(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`,
);

/** Why an image reference is not pinned, or undefined when it is (a tag other than `latest`, or a digest). */
export function imageReferenceProblem(ref: string): string | undefined {
  const m = imageReference.exec(ref);
  if (!m || ref.length > 512) return "is not a container image reference";
  const [, , tag, digest] = m;
  if (digest !== undefined) return undefined;
  if (tag === undefined) return "has no tag, so it means whatever :latest is today";
  if (tag === "latest") return "uses the floating tag latest";
  return undefined;
}

/** Why a chart repository URL is refused, or undefined for an https:// or oci:// URL. */
export function chartRepoProblem(repo: string): string | undefined {
  let url: URL;
  try {
    url = new URL(repo);
  } catch {
    return "is not a URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "oci:") return "is not an https:// or oci:// URL";
  if (url.username !== "" || url.password !== "") return "holds credentials, which would land in plain manifests";
  if (/[\s"'`$\\<>|;&]/.test(repo) || hasControlCharacter(repo)) return "contains spaces, quotes or shell characters";
  return undefined;
}

/** A chart version: SemVer (with an optional leading v), no ranges and no shell characters. */
export const chartVersion = /^v?[0-9]+(\.[0-9]+){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/** A chart name inside a repository: no slashes, spaces or shell characters. */
export const chartName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** A whole-disk path: under /dev, normalised (no `.`, `..`, `//` or trailing slash). */
export function isDevicePath(disk: string): boolean {
  return /^\/dev\/[A-Za-z0-9._:+@/-]+$/.test(disk) && posix.normalize(disk) === disk && !disk.endsWith("/");
}
