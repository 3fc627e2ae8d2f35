/**
 * The fake Kubernetes API server kept in the repo as test support (see server.ts): real HTTP, the Job, Pod, Event
 * and Namespace endpoints, list+watch with resourceVersions, bookmarks and 410 Gone, a simulated control plane with
 * per-pod scenarios, and enough discovery and server-side printing for the real kubectl.
 */
export { FakeKube, type FakeKubeOptions, type RecordedRequest, type PodScenario, type Obj } from './server.js';
export { humanDuration, podStatusReason, jobStatusWord } from './table.js';
