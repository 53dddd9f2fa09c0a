// The API documentation page (/docs): Swagger UI, from the service's own files
// (app/api_docs.py), reading the OpenAPI document the page names.
const root = document.getElementById("swagger-ui");

window.ui = window.SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  // Nothing is sent to a validator elsewhere.
  validatorUrl: null,
});
