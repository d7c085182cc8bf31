// @peculiar/x509, loaded after the Reflect metadata polyfill its dependency injection (tsyringe)
// needs: import the library from here, never directly, so the polyfill is always loaded first.
import "reflect-metadata";

export * from "@peculiar/x509";
