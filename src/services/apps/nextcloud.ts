/** Nextcloud with PostgreSQL and Redis, at nextcloud.<domain>, plus its VPN SSO settings. */
import { vpnNetwork } from "../../cluster/net.ts";
import type { Cluster } from "../../cluster/model.ts";
import type { PlanHook } from "../../plan/schema.ts";
import { defaultIssuer } from "../dns/cert-manager.ts";
import type { Service } from "../types.ts";
import { helmRelease } from "../util.ts";
import { gateRelease, gateSecretRef, nextcloudPolicies } from "./nextcloud-sso-gate.ts";

export const proxyConfigPhp = `<?php
$CONFIG = [
  'trusted_proxies' => ['${vpnNetwork.podCidr}'],
  'forwarded_for_headers' => ['HTTP_X_FORWARDED_FOR'],
  'overwriteprotocol' => 'https',
];
`;

export const nextcloud: Service = (cluster) => {
  const ns = cluster.namespaces.nextcloud;
  const host = `nextcloud.${cluster.config.domain}`;
  const ref = (secretName: string, secretKey: string, sopsSecret: string, name: string) => ({
    name,
    secretName,
    secretKey,
    namespace: ns,
    sopsSecret,
  });
  return {
    releases: [
      helmRelease(
        cluster,
        "nextcloud",
        ns,
        {
          nextcloud: {
            host,
            existingSecret: {
              enabled: true,
              secretName: "nextcloud-admin",
              usernameKey: "nextcloud-username",
              passwordKey: "password",
            },
            configs: { "proxy.config.php": proxyConfigPhp },
          },
          internalDatabase: { enabled: false },
          externalDatabase: {
            enabled: true,
            type: "postgresql",
            host: "nextcloud-postgresql",
            database: "nextcloud",
            // The chart's key is `user` (the original's `username` was ignored: defect 11).
            user: "nextcloud",
            existingSecret: {
              enabled: true,
              secretName: "nextcloud-db",
              usernameKey: "db-username",
              passwordKey: "password",
            },
          },
          postgresql: {
            enabled: true,
            global: {
              postgresql: {
                auth: {
                  username: "nextcloud",
                  database: "nextcloud",
                  existingSecret: "nextcloud-db",
                  // The superuser's password lives in the same Secret (defect 33).
                  secretKeys: { userPasswordKey: "password", adminPasswordKey: "postgres-password" },
                },
              },
            },
            primary: { persistence: { enabled: true, storageClass: "longhorn", size: "8Gi" } },
          },
          redis: {
            enabled: true,
            auth: { enabled: true, existingSecret: "nextcloud-redis", existingSecretPasswordKey: "password" },
          },
          persistence: { enabled: true, storageClass: "longhorn", size: "100Gi" },
          ingress: {
            enabled: true,
            className: "nginx",
            annotations: {
              "nginx.ingress.kubernetes.io/proxy-body-size": "0",
              "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
              "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
              "cert-manager.io/cluster-issuer": defaultIssuer,
            },
            hosts: [{ host, paths: [{ path: "/", pathType: "Prefix" }] }],
            tls: [{ secretName: "nextcloud-tls", hosts: [host] }],
          },
        },
        ["nextcloud-admin", "nextcloud-db", "nextcloud-redis"],
      ),
      {
        key: "nextcloud-network-policy",
        kind: "manifests",
        namespace: ns,
        secrets: [],
        objects: nextcloudPolicies(cluster),
      },
      gateRelease(cluster),
    ],
    secretRefs: [
      ref("nextcloud-admin", "password", "nextcloud_admin_password", "nextcloud-admin-secret"),
      ref("nextcloud-admin", "nextcloud-username", "nextcloud_admin_username", "nextcloud-admin-username-secret"),
      ref("nextcloud-db", "password", "nextcloud_db_password", "nextcloud-db-secret"),
      ref("nextcloud-db", "db-username", "nextcloud_db_username", "nextcloud-db-username-secret"),
      ref("nextcloud-db", "postgres-password", "nextcloud_db_postgres_password", "nextcloud-db-postgres-secret"),
      ref("nextcloud-redis", "password", "nextcloud_redis_password", "nextcloud-redis-secret"),
      gateSecretRef(cluster),
    ],
  };
};

/**
 * Nextcloud's VPN SSO: user_saml in environment-variable mode reads the user from
 * X-Remote-User, which reaches Nextcloud only from the VPN's sign-in proxy through the
 * token gate (nextcloud-sso-gate.ts); the ingress blanks it. occ runs as the web user (defect 32); every setting is
 * verified, not just the app's enabled state.
 */
export function nextcloudSsoHook(cluster: Cluster): PlanHook {
  return {
    name: "nextcloud-sso",
    after: "apps",
    target: { namespace: cluster.namespaces.nextcloud, deployment: "nextcloud", container: "nextcloud" },
    runAs: "www-data",
    occ: {
      apps: ["user_saml"],
      settings: [
        { app: "user_saml", key: "type", value: "environment-variable" },
        { app: "user_saml", key: "general-uid_mapping", value: "HTTP_X_REMOTE_USER" },
        { app: "user_saml", key: "general-require_provisioned_account", value: "0" },
      ],
    },
  };
}
