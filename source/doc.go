// Package source is what a source kind is and everything about sources
// that is not one kind's business.
//
// A kind has a pure part — Kind.Configure reads and validates an entry,
// Source.UniqueKey is its contribution to cache keys — and optional I/O
// parts, each an interface taking a context first: Fetcher (download into
// the source directory, IsCached without network), FetchedStager (stage
// what was fetched into the CAS), PreviousStager (change the sources staged
// before, as patch does), Tracker (find a new ref) and Stager (stage
// without fetching, as local does). The built-in kinds live in package
// plugins.
//
// The rest is shared: an Env (one per invocation) with the source
// directory, the store, the fetch and track policies, retries and .netrc;
// FetchContext, what one source's I/O sees (its project's aliases and
// mirrors, where it is declared, warnings that may be fatal); Download,
// which never leaves a partial or unverified file; the source cache
// (Cache), per-source and per-element staged trees in the CAS kept by
// BuildStream's refs; safe archive extraction and decompression; a Go
// implementation of patch; the driver that fetches, stages and tracks an
// element's sources (Env.Fetch, Env.Stage, Env.FetchNeeded, Env.Track,
// FetchAll on a bounded pool); and RefWriter, which writes tracked refs
// back into .bst files without disturbing their text, or into
// project.refs.
package source
