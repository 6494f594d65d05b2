/** Reaching the API at the start of a command: every failure is said at once, transient ones are retried. */
import { UserError } from "../errors.ts";
import { ApiError, type KubeClient } from "./client.ts";
import type { Clock } from "./clock.ts";
import type { DeploySink } from "./events.ts";
import { errorMessage, withRetry } from "./retry.ts";

/** Waits until the API answers GET /version; transient failures are reported and retried within the budget. */
export async function waitForApi(
  kube: KubeClient,
  options: { clock: Clock; timeoutMs: number; sink: DeploySink; signal?: AbortSignal },
): Promise<void> {
  options.sink({ type: "phase", message: `connecting to the Kubernetes API at ${kube.server}` });
  try {
    await withRetry(
      {
        retry: { attempts: 1, delaySeconds: 1, maxDelaySeconds: 1 },
        clock: options.clock,
        outageMs: options.timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
        onRetry: (reason, delayMs) => options.sink({ type: "retry", reason, delayMs }),
      },
      () => kube.version({ timeoutMs: Math.min(10_000, Math.max(1000, options.timeoutMs)) }),
    );
  } catch (error) {
    throw apiUnreachable(kube, error);
  }
}

/** The UserError for an API that does not answer (or refuses), with what the user can check for that kind of failure. */
function apiUnreachable(kube: KubeClient, error: unknown): UserError {
  const message = errorMessage(error);
  const status = error instanceof ApiError ? error.status : 0;
  const code = error instanceof ApiError ? (error.code ?? "") : "";
  if (status === 401 || status === 403) {
    return new UserError(`the Kubernetes API at ${kube.server} refused our credentials: ${message}`, {
      details: ["Check the user of the kubeconfig context (--context, --kubeconfig)."],
    });
  }
  const hint = /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO|EPROTO)/.test(code)
    ? "The server's certificate does not match the kubeconfig's certificate-authority or server name: check the kubeconfig."
    : code === "ENOTFOUND"
      ? "Check the server address in the kubeconfig."
      : "Is the cluster running and reachable? On the master: `systemctl status k3s`. To wait longer: --api-timeout SECONDS.";
  return new UserError(message, { details: [hint] });
}

/** Runs a command's body; an API error that escapes it becomes a UserError with the reason (never a crash report). */
export async function explainApiErrors<T>(kube: KubeClient, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw error instanceof ApiError ? apiUnreachable(kube, error) : error;
  }
}
