// The cluster's two certificate authorities' private keys: KMS asymmetric keys (ECC_NIST_P256,
// SIGN_VERIFY) that never leave KMS. The peer CA signs the certificates members present to each other
// on 2380; the client CA the servers' certificates on 2379 and every client's. Each key policy lets
// the account administer the key but use it — kms:Sign — only to the roles that issue certificates:
// the peer key to the node API alone, the client key to every control-plane function (each mints
// its own client certificate) and to the client-certificate function. No identity policy elsewhere
// can open it: the key policy names its signers, and grants the account no kms:Sign to delegate.
import { RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";

export interface CertificateAuthoritiesProps {
  readonly clusterName: string;
  /** May sign with the peer CA's key: the node API. */
  readonly peerSigners: readonly iam.IRole[];
  /** May sign with the client CA's key. */
  readonly clientSigners: readonly iam.IRole[];
}

/**
 * What the account (its administrators) may do with a CA key: everything but use it. Not
 * `kms:Create*`: that includes kms:CreateGrant, with which an administrator could hand kms:Sign to
 * any principal without the key policy showing it. Changing the key policy itself (kms:PutKeyPolicy,
 * which KMS requires someone to keep) is the one way left, and CloudTrail records it.
 */
const ADMINISTER = [
  "kms:CreateAlias",
  "kms:Describe*",
  "kms:Enable*",
  "kms:List*",
  "kms:Put*",
  "kms:Update*",
  "kms:Revoke*",
  "kms:Disable*",
  "kms:Get*",
  "kms:Delete*",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
];

export class CertificateAuthorities extends Construct {
  readonly peerCaKey: kms.Key;
  readonly clientCaKey: kms.Key;

  constructor(scope: Construct, id: string, props: CertificateAuthoritiesProps) {
    super(scope, id);
    const key = (name: "Peer" | "Client", signers: readonly iam.IRole[]) =>
      new kms.Key(this, `${name}CaKey`, {
        description: `etcd-asg ${props.clusterName}: the ${name.toLowerCase()} certificate authority's key`,
        keySpec: kms.KeySpec.ECC_NIST_P256,
        keyUsage: kms.KeyUsage.SIGN_VERIFY,
        // Deleting the stack schedules the keys' deletion (30 days): the CA certificates in the ledger
        // are useless without them, and a new stack starts a new ledger and new CAs.
        removalPolicy: RemovalPolicy.DESTROY,
        policy: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: "AdministerButNotUse",
              principals: [new iam.AccountRootPrincipal()],
              actions: ADMINISTER,
              resources: ["*"],
            }),
            new iam.PolicyStatement({
              sid: "SignCertificates",
              principals: [...signers],
              actions: ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"],
              resources: ["*"],
            }),
          ],
        }),
      });
    this.peerCaKey = key("Peer", props.peerSigners);
    this.clientCaKey = key("Client", props.clientSigners);
  }
}
