// Package shared is the ground every chaos suite service stands on: configuration, the HTTP
// server bootstrap, authentication, telemetry, a retrying client, control loops and the
// drivers that kill and upgrade nodes. Each concern lives in its own subpackage.
package shared
