package main

import (
	"fmt"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/loader/node"
)

// openCache opens the local cache named by the user configuration, with
// its size limits (cache.quota, cache.reserved-disk-space and
// cache.low-watermark).
func (a *app) openCache() (*cas.ArtifactCache, error) {
	if a.artifacts != nil {
		return a.artifacts, nil
	}
	uc, err := a.userConfig()
	if err != nil {
		return nil, err
	}
	store, err := cas.OpenLocal(uc.CacheDir)
	if err != nil {
		return nil, err
	}
	limits, err := cacheLimits(uc.Node.Get("cache"), store.Root())
	if err != nil {
		return nil, err
	}
	store.SetLimits(limits)
	a.artifacts = cas.NewArtifactCache(store)
	return a.artifacts, nil
}

// cacheLimits reads the user configuration's `cache:` section.
func cacheLimits(cache *node.Node, dir string) (cas.Limits, error) {
	var l cas.Limits
	if cache == nil {
		return l, nil
	}
	if err := cache.ValidateKeys("quota", "reserved-disk-space", "low-watermark", "storage-service",
		"pull-buildtrees", "cache-buildtrees"); err != nil {
		return l, err
	}
	total, _, err := cas.VolumeSize(dir)
	if err != nil {
		return l, fmt.Errorf("local cache: %w", err)
	}
	for _, f := range []struct {
		key string
		dst *int64
	}{{"quota", &l.Quota}, {"reserved-disk-space", &l.Reserved}} {
		v, err := cache.GetScalar(f.key, true)
		if err != nil || v == nil {
			if err != nil {
				return l, err
			}
			continue
		}
		n, err := cas.ParseSize(v.Value(), total)
		if err != nil {
			return l, node.Errorf(v.Prov(), node.InvalidData, "cache.%s: %v", f.key, err)
		}
		if n < 0 {
			if f.key == "reserved-disk-space" {
				return l, node.Errorf(v.Prov(), node.InvalidData, "cache.reserved-disk-space cannot be infinity")
			}
			n = 0
		}
		*f.dst = n
	}
	if v, err := cache.GetScalar("low-watermark", true); err != nil {
		return l, err
	} else if v != nil {
		if l.LowWatermark, err = cas.ParsePercentage(v.Value()); err != nil {
			return l, node.Errorf(v.Prov(), node.InvalidData, "cache.low-watermark: %v", err)
		}
	}
	return l, nil
}
