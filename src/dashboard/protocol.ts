/**
 * How the VPN's sign-in proxy tells the in-cluster dashboard who is asking: the header
 * names and the token's environment variable, shared by what renders the proxy's routes
 * (services/dashboard) and the dashboard that checks them (cluster.ts). No imports, so
 * the dashboard's bundle stays small.
 */

/** The header carrying the VPN user the sign-in proxy matched by the peer's address. */
export const dashboardUserHeader = "X-Nixlab-User";
/** The header carrying the token that proves a request came from the sign-in proxy. */
export const dashboardTokenHeader = "X-Nixlab-Dashboard-Token";
/** The environment variable both the proxy and the dashboard read the token from. */
export const dashboardTokenEnv = "NIXLAB_DASHBOARD_TOKEN";
/** The Kubernetes Secret (in the dashboard's namespace) with one user's keys. */
export const deviceSecretName = (user: { name: string }): string => `device-${user.name}`;
