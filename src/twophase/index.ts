export { TwoPhaseCommitSink, type TwoPhaseCommitOptions } from './two-phase-commit-sink.js';
