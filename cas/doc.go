// Package cas holds content addressing: digests and REAPI Directory Merkle
// trees of file trees. The local on-disk store, artifacts in BuildStream 2's
// format, the REAPI client and the cache server arrive with the CAS issue.
package cas
