// Package sha256lanes computes many SHA-256 digests at once, two messages
// at a time where the processor allows it.
//
// Cache keys are SHA-256 digests of preimages kilobytes long, hundreds of
// thousands of them, so hashing bounds how fast keys are computed. A
// processor with the SHA extensions runs one message's rounds at about
// two thirds of the rate it could sustain, because each round waits for
// the one before; hashing two independent messages interleaved uses the
// rest (see lanes_amd64.s). Everywhere else, and on processors without
// the extensions, messages are hashed one at a time by crypto/sha256.
//
// The digests are those of crypto/sha256: the tests compare the two over
// random messages, split and batched in random ways, on both paths.
package sha256lanes
