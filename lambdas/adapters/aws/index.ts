// The AWS adapter (EC2 and Auto Scaling): what handlers import.
export { AutoScalingGroupAdapter, type AwsClients, type LifecycleActionTarget } from "./auto-scaling-group";
export { describeInstanceDetails, describePrivateIp, type Ec2InstanceDetails } from "./ec2";
export * from "./errors";
export { translateAwsError } from "./translate";
