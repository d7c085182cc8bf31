// The cluster's published CA certificates, in the ledger table beside the cluster's other items
// (pk = cluster#<name>, sk = ca#peer | ca#client). Each CA certificate is written once, by one
// conditional write: when two control-plane functions create a CA at the same moment, the first
// write wins and the other reads the winner's certificate back and uses it. Only certificates (public)
// are stored here; the CA private keys live in KMS.
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import type { CaKind } from "../../domain/certificates";
import * as z from "../../schema";
import { LedgerContentionError, LedgerCorruptItemError } from "./errors";
import { requireText, requireTime } from "./input";
import { clusterPartition } from "./items";
import type { LedgerOptions } from "./ledger";
import { LEDGER_TABLE_SCHEMA } from "./table";
import { TableAccess } from "./table-access";

const { sortKey: SK } = LEDGER_TABLE_SCHEMA;

export interface PublishedCa {
  readonly kind: CaKind;
  readonly certificatePem: string;
  /** The KMS key (ARN) whose public key the certificate holds. */
  readonly keyId: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
}

export interface PublishCaResult {
  /** This call wrote the certificate; false when another writer published this CA first. */
  readonly won: boolean;
  /** The certificate the ledger holds now, whoever wrote it. */
  readonly ca: PublishedCa;
}

export function caSortKey(kind: CaKind): string {
  return `ca#${kind}`;
}

const caItemSchema = z.object({
  certificatePem: z.string().check(z.startsWith("-----BEGIN CERTIFICATE-----")),
  keyId: z.string().check(z.minLength(1)),
  createdAt: z.int().check(z.gte(0)),
});

export class CertificateAuthorityLedger {
  private readonly table: TableAccess;
  private readonly pk: string;

  constructor(options: LedgerOptions) {
    requireText("cluster name", options.clusterName);
    requireText("table name", options.tableName);
    this.table = new TableAccess(options.client, options.tableName);
    this.pk = clusterPartition(options.clusterName);
  }

  /** The published certificate of this CA, read with strong consistency, or undefined. */
  async get(kind: CaKind): Promise<PublishedCa | undefined> {
    const item = await this.table.getItem("getCaCertificate", this.pk, caSortKey(kind));
    if (item === undefined) return undefined;
    const parsed = caItemSchema.safeParse(item);
    if (!parsed.success) {
      throw new LedgerCorruptItemError({ pk: this.pk, sk: caSortKey(kind) }, z.prettifyError(parsed.error));
    }
    return { kind, ...parsed.data };
  }

  /** Publishes `ca` unless this CA already has a certificate; either way returns the one that holds. */
  async publish(ca: PublishedCa): Promise<PublishCaResult> {
    requireText("CA certificate", ca.certificatePem);
    requireText("CA key ID", ca.keyId);
    requireTime("createdAt", ca.createdAt);
    const sk = caSortKey(ca.kind);
    return this.table.conditionalWrite(
      "publishCaCertificate",
      async () => {
        await this.table.client.send(
          new PutCommand({
            TableName: this.table.tableName,
            Item: {
              ...this.table.key(this.pk, sk),
              certificatePem: ca.certificatePem,
              keyId: ca.keyId,
              createdAt: ca.createdAt,
            },
            ConditionExpression: "attribute_not_exists(#sk)",
            ExpressionAttributeNames: { "#sk": SK },
          }),
        );
        return { won: true, ca };
      },
      async () => {
        const winner = await this.get(ca.kind);
        // Written and gone between our write and this read: only a deletion does that; try again.
        if (winner === undefined) throw new LedgerContentionError(`publication of the ${ca.kind} CA`);
        return { won: false, ca: winner };
      },
    );
  }
}
