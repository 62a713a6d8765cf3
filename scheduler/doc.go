// Package scheduler will plan the element graph into jobs (pull, fetch,
// build, push) and run them on a worker pool with per-resource limits. It
// arrives with the build issue; until then nothing imports it.
package scheduler
