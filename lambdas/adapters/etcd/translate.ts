// The one place where errors from etcd3 (gRPC status errors and etcd's own refusals) become the
// adapter's typed errors. etcd's refusals are recognised by etcd's own message text, which etcd3 keeps
// in the message while it drops the gRPC status code; etcd3's "recoverable" tag marks the transport
// failures (unavailable, deadline exceeded, cancelled...). The tag is read from etcd3's errors module
// alone (no dependencies, the same module etcd3 itself uses) so that this file does not load etcd3.
import { isRecoverableError } from "etcd3/lib/errors";
import { EtcdAsgError } from "../../errors";
import {
  DatabaseSpaceExceededError,
  EtcdAdapterError,
  EtcdPermissionDeniedError,
  EtcdRequestError,
  EtcdUnavailableError,
  FutureRevisionError,
  LearnerNotReadyError,
  MemberAlreadyExistsError,
  MemberNotFoundError,
  MemberNotLearnerError,
  NotEnoughStartedMembersError,
  RevisionCompactedError,
  TooManyLearnersError,
  UnhealthyClusterError,
  UserAlreadyExistsError,
} from "./errors";

type Translation = (message: string, cause: unknown) => EtcdAdapterError;

/** etcd 3.4's messages (etcdserver/api/v3rpc/rpctypes). Order matters: the longer promote message first. */
const ETCD_REFUSALS: readonly (readonly [string, Translation])[] = [
  ["etcdserver: unhealthy cluster", (m, c) => new UnhealthyClusterError(m, c)],
  [
    "etcdserver: re-configuration failed due to not enough started members",
    (m, c) => new NotEnoughStartedMembersError(m, c),
  ],
  ["etcdserver: too many learner members in cluster", (m, c) => new TooManyLearnersError(m, c)],
  [
    "etcdserver: can only promote a learner member which is in sync with leader",
    (m, c) => new LearnerNotReadyError(m, c),
  ],
  ["etcdserver: can only promote a learner member", (m, c) => new MemberNotLearnerError(m, c)],
  ["etcdserver: member not found", (m, c) => new MemberNotFoundError(m, c)],
  ["etcdserver: Peer URLs already exists", (m, c) => new MemberAlreadyExistsError(m, c)],
  // A MemberAdd's ID hashes the peer URLs, the cluster token and the second it was made, so the same
  // add repeated within a second collides on the ID before the peer URL check.
  ["etcdserver: member ID already exist", (m, c) => new MemberAlreadyExistsError(m, c)],
  ["etcdserver: user name already exists", (m, c) => new UserAlreadyExistsError(m, c)],
  ["etcdserver: permission denied", (m, c) => new EtcdPermissionDeniedError(m, c)],
  ["etcdserver: user name not found", (m, c) => new EtcdPermissionDeniedError(m, c)],
  ["etcdserver: user name is empty", (m, c) => new EtcdPermissionDeniedError(m, c)],
  ["etcdserver: mvcc: required revision has been compacted", (m, c) => new RevisionCompactedError(m, c)],
  ["etcdserver: mvcc: required revision is a future revision", (m, c) => new FutureRevisionError(m, c)],
  ["etcdserver: mvcc: database space exceeded", (m, c) => new DatabaseSpaceExceededError(m, c)],
];

export function translateEtcdError(error: unknown, operation: string, endpoint: string): EtcdAdapterError {
  if (error instanceof EtcdAdapterError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  const message = `etcd ${operation} at ${endpoint} failed: ${detail}`;
  for (const [text, translation] of ETCD_REFUSALS) {
    if (detail.includes(text)) return translation(message, error);
  }
  // A failure before the call reached etcd (no client identity yet while KMS is unavailable) keeps
  // its retryable tag.
  if (
    (error instanceof Error && isRecoverableError(error)) ||
    (error instanceof EtcdAsgError && error.retryable)
  ) {
    return new EtcdUnavailableError(message, { cause: error });
  }
  return new EtcdRequestError(message, error);
}
