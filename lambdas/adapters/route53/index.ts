// The Route 53 adapter (the cluster's client name): what handlers import.
export * from "./errors";
export { translateRoute53Error } from "./translate";
export { HostedZoneAdapter, type SubmittedChange } from "./zone";
