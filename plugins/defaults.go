package plugins

import (
	"embed"
	"fmt"
)

//go:embed defaults/*.yaml
var defaultsFS embed.FS

// kindDefaults returns the defaults YAML of a kind.
func kindDefaults(name string) string {
	data, err := defaultsFS.ReadFile("defaults/" + name + ".yaml")
	if err != nil {
		panic(fmt.Sprintf("plugins: no defaults for kind %q", name))
	}
	return string(data)
}
