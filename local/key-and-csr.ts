// A fresh P-256 key and a certificate signing request for it, made with openssl as the boot script
// and an operator make them (CN given; no extensions: the control plane decides every SAN; a test
// may have it ask for SANs, which the control plane must ignore). The key passes through a private
// temporary file, removed before this returns.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface KeyAndCsr {
  readonly keyPem: string;
  readonly csrPem: string;
}

/** `askedSans`: a subjectAltName value the CSR asks for (`IP:10.0.0.9,DNS:x`), none by default. */
export function newKeyAndCsr(commonName: string, askedSans?: string): KeyAndCsr {
  const dir = mkdtempSync(join(tmpdir(), "etcd-asg-key-"));
  try {
    const key = join(dir, "key.pem");
    execFileSync("openssl", [
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      key,
    ]);
    const csrPem = execFileSync(
      "openssl",
      [
        "req",
        "-new",
        "-config",
        "/dev/null",
        "-key",
        key,
        "-subj",
        `/CN=${commonName}`,
        ...(askedSans === undefined ? [] : ["-addext", `subjectAltName=${askedSans}`]),
      ],
      { encoding: "utf8" },
    );
    return { keyPem: readFileSync(key, "utf8"), csrPem };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
