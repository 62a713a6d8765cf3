package sandbox

import (
	"context"
	"testing"
)

func BenchmarkRunTrue(b *testing.B) {
	f := newFixture(b)
	if !Sealed() {
		b.Log("not sealed")
	}
	for b.Loop() {
		code, err := f.sb.Run(context.Background(), Config{Root: f.root, Args: []string{"/bin/true"}})
		if err != nil || code != 0 {
			b.Fatal(code, err)
		}
	}
}
