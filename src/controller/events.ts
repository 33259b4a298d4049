/** The controller's Events are written by the recorder the agent uses too (src/kube/events.ts). */
export { EventRecorder, type EventTarget, type EventType } from "../kube/events.ts";
