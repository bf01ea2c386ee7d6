// Jobs' public module: the source generator, the domain pipeline engine and the scheduler that runs it (or Airflow's
// DAGs).
export {
  DEFAULT_GENERATE,
  GENERATED_DOMAINS,
  generateMarketplace,
  type EventPublisher,
  type GenerateReport,
} from './generate/index.js';
export { LiveMarketplace } from './generate/live.js';
export { runDomainPipeline, unchangedVersion } from './pipeline/run.js';
export { streamFeeds, streamPublisher, streamedValues } from './pipeline/streamBatch.js';
export type { MicroBatchWork, StreamFeed } from './schedule/microBatches.js';
export { loadPipeline, type PipelineSpec, type SourceSpec } from './pipeline/spec.js';
export { eventSchemaCandidates } from './pipeline/eventCodec.js';
export { loadSchedules, nextRuns, type DomainSchedule } from './schedule/definitions.js';
export {
  PipelineScheduler,
  scheduleHistory,
  scheduleStatus,
  setPaused,
  type DomainScheduleStatus,
  type ScheduledRun,
  type ScheduledWork,
} from './schedule/scheduler.js';
export { airflowDags } from './schedule/airflow.js';
export {
  pipelineColumnLineage,
  type DatasetColumnLineage,
  type PipelineColumnLineage,
  type RawFieldEdge,
} from './pipeline/columnLineage.js';
export { loadDeclaredLineage } from './pipeline/declaredLineage.js';
