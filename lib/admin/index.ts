/**
 * `partita/admin`: what operators and tools read from the cluster (topics, consumer groups and
 * their lag, delay tiers).
 */
export { ClusterReader, type TopicOverview, type PartitionOverview, type GroupOverview, type TopicLag, type PartitionLag, type DelayTierOverview } from './cluster.ts';
