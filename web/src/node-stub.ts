/**
 * What `node:fs`, `node:http` and `node:https` resolve to in the browser build:
 * the typed client reaches them only on its Node paths (file paths, uploads over
 * node:http), which never run in a browser.
 */
export default {}
