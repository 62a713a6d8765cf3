// Package cas is content addressing and the local cache: SHA-256 digests,
// REAPI Directory Merkle trees of file trees, the on-disk object store
// (LocalStore) with atomic writes, verification and expiry within the
// user's quota, and the artifact cache holding BuildStream 2 Artifact
// messages (package cas/artifactpb) under their refs.
//
// The store's layout, its locking between bst processes and the way
// objects are sealed so that corruption is noticed cheaply are described
// on LocalStore. Trees go in with CaptureTree and come out with StageTree,
// as hardlinks for read-only use or verified copies for writable use.
package cas
