// The Route 53 adapter (the cluster's client name): what handlers import.
// The client comes from here too, so that the lazily loaded file holds only the commands used.
export { Route53Client } from "@aws-sdk/client-route-53";
export * from "./errors";
export { translateRoute53Error } from "./translate";
export { HostedZoneAdapter, type SubmittedChange } from "./zone";
