export { type BackendInfo, type BackendPreference, selectBackend } from './backend.js';
export { CoreError, type CoreErrorCode, isCoreError } from './errors.js';
