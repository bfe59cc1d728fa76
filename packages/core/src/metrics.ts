// Kept so existing imports keep working: the measures live in evaluation/ now.
export { averagePrecision, eventRecall, rocAuc } from './evaluation/classification.js';
