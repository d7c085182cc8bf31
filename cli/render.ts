// `etcd-asg status` for people: the cluster record, a table of members and one of instances, what is
// pending, the last snapshot and the drift.
import type { ClusterStatus } from "../lambdas/domain/cluster-status";

export function renderStatus(stackName: string, status: ClusterStatus): string {
  const lines: string[] = [];
  const { cluster } = status;
  lines.push(
    cluster === undefined
      ? `stack ${stackName}: no cluster in the ledger yet`
      : `stack ${stackName}: generation ${cluster.generation}, ${cluster.state}, size ${cluster.size}, token ${cluster.token}, ` +
          `etcd ${cluster.etcdVersion ?? "version not recorded yet"}`,
  );
  lines.push(`leader: ${status.leader ?? "none agreed by a quorum of the members"}`);
  lines.push("", "members:");
  lines.push(
    ...table(
      ["ID", "NAME", "ROLE", "HEALTH", "RAFT TERM", "RAFT INDEX", "VERSION", "CLIENT URL", "ALARMS"],
      status.members.map((m) => [
        m.id,
        m.name || "(not started)",
        m.leader ? "leader" : m.learner ? "learner" : "voter",
        m.healthy ? "healthy" : "unreachable",
        m.raftTerm ?? "-",
        m.raftIndex ?? "-",
        m.version ?? "-",
        m.clientUrl ?? "-",
        m.alarms.join(",") || "-",
      ]),
    ),
  );
  lines.push("", "instances:");
  lines.push(
    ...table(
      ["INSTANCE", "LIFECYCLE STATE", "PRIVATE IP", "PHASE", "MEMBER", "ETCD"],
      status.instances.map((i) => [
        i.id,
        i.lifecycleState,
        i.privateIp ?? "-",
        i.phase ?? "-",
        i.memberId ?? "-",
        i.etcdVersion ?? "-",
      ]),
    ),
  );
  lines.push(
    "",
    `pending lifecycle actions: ${
      status.pendingLifecycleActions.map((a) => `${a.instanceId} ${a.lifecycleState}`).join(", ") || "none"
    }`,
  );
  const snapshot = status.lastSnapshot;
  lines.push(
    `last snapshot: ${
      snapshot === undefined
        ? "none recorded"
        : `${snapshot.key} (generation ${snapshot.generation}, revision ${snapshot.revision}, ${snapshot.size} bytes, taken ${new Date(snapshot.takenAt).toISOString()}, ${age(snapshot.ageMs)} ago)`
    }`,
  );
  lines.push(`drift: ${status.drift.length === 0 ? "none" : ""}`);
  for (const d of status.drift) lines.push(`  ${d}`);
  return lines.join("\n");
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function age(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}
