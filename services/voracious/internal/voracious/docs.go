package voracious

import (
	_ "embed"
	"io/fs"
	"net/http"
	"strings"

	swaggerfiles "github.com/swaggo/files/v2"

	"chaossuite.dev/shared/web"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3 document describing every route.
func OpenAPI() []byte { return openAPI }

func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeRaw(w, http.StatusOK, openAPI)
	})
}

// docsPage is Swagger UI over /openapi.json, every asset served from the binary.
const docsPage = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>voracious API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script src="/docs/voracious-init.js"></script>
</body>
</html>
`

// The initializer sits in its own file so that a strict Content-Security-Policy still works.
const docsInit = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
};
`

func handleDocsIndex() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(docsPage))
	})
}

func handleDocsAssets() http.Handler {
	files := http.StripPrefix("/docs/", http.FileServerFS(swaggerfiles.FS))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/docs/")
		switch name {
		case "", "index.html":
			handleDocsIndex().ServeHTTP(w, r)
			return
		case "voracious-init.js", "swagger-initializer.js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			_, _ = w.Write([]byte(docsInit))
			return
		}
		if _, err := fs.Stat(swaggerfiles.FS, name); err != nil {
			web.Error(w, http.StatusNotFound, "no such docs asset: "+name)
			return
		}
		files.ServeHTTP(w, r)
	})
}
