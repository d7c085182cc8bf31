// What the simulator prints at start: the stack it runs (from which template), and every way the run
// differs from that template — each duration override next to the template's value, each operator
// action taken right after the deploy, and the simulator's own additions — so a reader knows what
// a green run proves about a deploy.
import type { StackModel } from "../stack/model";
import { ratePeriodMs } from "../stack/rules";
import type { Overrides, SimulatorOptions } from "./options";
import { scheduledRulePeriods } from "./schedules";

export function describeStart(stack: StackModel, overrides: Overrides, options: SimulatorOptions): string[] {
  const lines = [
    `stack ${stack.stackName} from ${options.template ?? `the app synthesized in ${stack.assetsDir}`}: ` +
      `${stack.functions.length} functions (${stack.functions.map((f) => `${f.role} ${f.runtime}`).join(", ")}), ` +
      `group ${stack.group.name} ${stack.group.minSize}..${stack.group.maxSize}, ` +
      `${stack.rules.length} rules, ledger ${stack.table.name}`,
    "overrides of the template (scenario time, not AWS time):",
  ];
  for (const hook of stack.group.hooks) {
    const ms =
      hook.transition === "autoscaling:EC2_INSTANCE_LAUNCHING"
        ? overrides.launchHeartbeatTimeoutMs
        : overrides.terminateHeartbeatTimeoutMs;
    lines.push(
      `  lifecycle hook ${hook.name}: HeartbeatTimeout ${hook.heartbeatTimeoutSeconds} s -> ${ms / 1000} s`,
    );
  }
  const periods = scheduledRulePeriods(
    stack,
    overrides.reconcileIntervalMs,
    overrides.snapshotIntervalSeconds === undefined ? undefined : overrides.snapshotIntervalSeconds * 1000,
  );
  for (const rule of stack.rules.filter((r) => r.scheduleExpression !== undefined)) {
    const period = periods.find((p) => p.rule.logicalId === rule.logicalId)?.periodMs;
    lines.push(
      `  rule ${rule.logicalId}: ${rule.scheduleExpression} (${ratePeriodMs(rule.scheduleExpression ?? "") / 1000} s) -> ` +
        (period === undefined ? "on demand only" : `every ${period / 1000} s`),
    );
  }
  const learner = stack.functions[0]?.environment.LEARNER_READY_TIMEOUT_SECONDS;
  const grace = stack.functions[0]?.environment.HEALTH_GRACE_SECONDS;
  lines.push(
    `  LEARNER_READY_TIMEOUT_SECONDS ${learner ?? "unset (600)"} -> ${overrides.learnerReadyTimeoutSeconds} on every function`,
    `  Lambda's async-invoke retries after ${overrides.asyncRetryDelaysMs.map((ms) => `${ms / 1000} s`).join(", ")} (AWS: about 1 and 2 min)`,
    `  group DefaultInstanceWarmup ${stack.group.defaultInstanceWarmupSeconds ?? "unset (the 300 s grace period)"} -> ${overrides.instanceWarmupSeconds} s; ` +
      `EC2 health check verdict ${overrides.healthCheckDelayMs / 1000} s after a machine fails`,
    `  HEALTH_GRACE_SECONDS ${grace ?? "unset (180)"} -> ${overrides.healthGraceSeconds}, HEALTH_WARMUP_SECONDS 300 -> ${overrides.healthWarmupSeconds}, ` +
      `RECONCILE_PERIOD_SECONDS 60 -> the schedule's period, on every function` +
      (overrides.quotaBackendBytes === undefined
        ? ""
        : `; backend quota ${overrides.quotaBackendBytes} bytes on every node (QUOTA_BACKEND_BYTES_OVERRIDE)`),
  );
  lines.push(
    `  QUORUM_LOSS_THRESHOLD_SECONDS 300 -> ${overrides.quorumLossThresholdSeconds}` +
      (overrides.snapshotIntervalSeconds === undefined
        ? ""
        : `, SNAPSHOT_INTERVAL_SECONDS 1800 -> ${overrides.snapshotIntervalSeconds}`) +
      (overrides.disasterRecovery === undefined
        ? ""
        : `, DISASTER_RECOVERY -> ${overrides.disasterRecovery}`) +
      " on every function",
  );
  lines.push(
    `  instance boot: user data starts ${(options.bootDelayMs ?? 0) / 1000} s after launch (EC2: tens of seconds; the launch event comes at Pending:Wait, before it)`,
  );
  if (options.capacity !== undefined || options.maxSize !== undefined) {
    lines.push(
      `operator, right after the deploy (UpdateAutoScalingGroup): ${[
        options.capacity === undefined ? "" : `DesiredCapacity ${options.capacity}`,
        options.maxSize === undefined ? "" : `MaxSize ${stack.group.maxSize} -> ${options.maxSize}`,
      ]
        .filter(Boolean)
        .join(", ")}`,
    );
  }
  lines.push(
    "the simulator's additions: AWS_ENDPOINT_URL_* point the functions and instances at local servers; " +
      "etcd runs with 100 ms heartbeats, a 1 s election timeout, and without etcd 3.4's check that a " +
      "peer connects from the IP its certificate names (on loopback every peer connects from 127.0.0.1)",
  );
  return lines;
}
