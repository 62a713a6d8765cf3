package source

import "net/http"

// HTTPClient is the client this invocation's downloads use, for sources
// that speak a protocol of their own over HTTP (a container registry's
// API) rather than downloading one URL.
func (fc *FetchContext) HTTPClient() *http.Client { return fc.http }
