/**
 * The names the in-cluster dashboard and what renders it agree on: how the VPN's sign-in
 * proxy says who is asking (headers, the token's environment variable), and where a
 * shared device's keys are (its Secret, and the SOPS secret of its private key). Shared
 * by services/dashboard, config validation and the dashboard itself (cluster.ts). No
 * imports, so the dashboard's bundle stays small.
 */

/** The header carrying the VPN user the sign-in proxy matched by the peer's address. */
export const dashboardUserHeader = "X-Nixlab-User";
/** The header carrying the token that proves a request came from the sign-in proxy. */
export const dashboardTokenHeader = "X-Nixlab-Dashboard-Token";
/** The environment variable both the proxy and the dashboard read the token from. */
export const dashboardTokenEnv = "NIXLAB_DASHBOARD_TOKEN";
/** The Kubernetes Secret (in the dashboard's namespace) with one user's keys. */
export const deviceSecretName = (user: { name: string }): string => `device-${user.name}`;
/** The SOPS secret holding a user's private key when the dashboard may show their config. */
export const devicePrivateKeySecret = (user: { name: string }): string =>
  `${user.name.replaceAll("-", "_")}_wg_private_key`;
