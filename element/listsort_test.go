package element

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

type listsortCase struct {
	Kind   string  `json:"kind"`
	Values []int   `json:"values"`
	Table  [][]int `json:"table"`
	Order  []int   `json:"order"`
	Calls  int     `json:"calls"`
}

// TestListSortMatchesCPython checks orders and comparison counts against
// CPython's list.sort, including comparators that are not total orders
// (golden data from testdata/listsort/gen.py).
func TestListSortMatchesCPython(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "listsort", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []listsortCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		idx := make([]int, len(c.Values))
		for i := range idx {
			idx[i] = i
		}
		calls := 0
		ListSort(idx, func(a, b int) int {
			calls++
			va, vb := c.Values[a], c.Values[b]
			if c.Table == nil {
				switch {
				case va < vb:
					return -1
				case va > vb:
					return 1
				}
				return 0
			}
			return c.Table[va][vb]
		})
		if !slices.Equal(idx, c.Order) {
			t.Errorf("%s/%d: order differs from CPython's", c.Kind, len(c.Values))
		}
		if calls != c.Calls {
			t.Errorf("%s/%d: %d comparisons, CPython made %d", c.Kind, len(c.Values), calls, c.Calls)
		}
	}
}

// TestListSortSortsAndIsStable checks a total order on many random inputs.
func TestListSortSortsAndIsStable(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, n := range []int{0, 1, 2, 10, 63, 64, 65, 200, 1000, 5000} {
		for round := 0; round < 5; round++ {
			type item struct{ key, pos int }
			items := make([]item, n)
			for i := range items {
				items[i] = item{rng.Intn(n/3 + 1), i}
			}
			if round == 1 {
				slices.SortFunc(items, func(a, b item) int { return b.key - a.key })
				for i := range items {
					items[i].pos = i
				}
			}
			ListSort(items, func(a, b item) int { return a.key - b.key })
			for i := 1; i < n; i++ {
				if items[i-1].key > items[i].key || items[i-1].key == items[i].key && items[i-1].pos > items[i].pos {
					t.Fatalf("n=%d round=%d: not sorted stably at %d", n, round, i)
				}
			}
		}
	}
}
