// Package server is bst's cache server: the REAPI services a build tool
// needs to share a cache, over gRPC, backed by a directory.
//
//	client (bst, BuildStream 2, Bazel, any REAPI client)
//	   │  gRPC (plain, TLS, TLS with client certificates)
//	   │  authorization: Bearer <token>   → read or push rights (auth.go)
//	   ▼
//	Capabilities          what the server does: SHA-256, batch limit, may the caller update
//	ContentAddressableStorage   FindMissingBlobs, BatchUpdateBlobs, BatchReadBlobs, GetTree
//	ByteStream            Read blobs/<hash>/<size>, Write uploads/<uuid>/blobs/<hash>/<size>
//	ActionCache           GetActionResult (only when every output is stored), UpdateActionResult
//	Remote Asset          Fetch/Push of blobs and directories (BuildStream's artifact and source URNs)
//	grpc.health.v1        health checks
//	   │
//	   ▼
//	<dir>/cas/objects/…   blobs: cas.LocalStore, every upload verified against its digest,
//	                      every read verified too; least recently used blobs expire
//	                      when the quota is exceeded (blobs.go)
//	<dir>/ac/…            action results, by instance and action digest (index.go)
//	<dir>/assets/…        Remote Asset entries, by instance, kind, URI and qualifiers
//
// Uploaded blobs are written without a sync each; the file system is
// synced once before an action result or an asset naming them is
// recorded. Entries of the action cache and the asset index are only
// answered when everything they name is still stored, and answering
// refreshes those blobs in the expiry order, so expiry never leaves an
// entry that points at missing content.
//
// A separate HTTP listener serves Prometheus metrics (/metrics) and a
// health check (/healthz).
package server
